//! `eval`, `export` and `plot`: the commands that read a checkpoint or a run folder and write a report or a file.

use std::path::PathBuf;

use super::{EvalArgs, ExportArgs, ExportFormat, PlotArgs};

pub fn eval(a: EvalArgs) -> anyhow::Result<()> {
    if a.limit == Some(0) {
        anyhow::bail!("--limit must be at least 1");
    }
    let sampler = a.sampling.sampler();
    let opts = crate::eval::EvalOptions {
        checkpoint: crate::checkpoint::resolve(a.sampling.checkpoint.as_deref()),
        data: a.data,
        split: a.split,
        limit: a.limit,
        sampler,
        out: a.out,
        judge: a
            .judge
            .as_deref()
            .map(crate::train::read_judge)
            .transpose()?,
    };
    // Both outputs are checked before the model is loaded and any reply written (see crate::output).
    let protected = crate::output::checkpoint_files(&opts.checkpoint);
    let report_file = crate::output::OutputFile::check(&opts.out, &protected, &opts.checkpoint)?;
    if !a.emotion_only {
        let replies = crate::eval::replies_path(&opts.out);
        crate::output::OutputFile::check(&replies, &protected, &opts.checkpoint)?;
    }
    let mut responder =
        crate::checkpoint::load_responder(&opts.checkpoint, &a.sampling.device.device()?)?;
    a.sampling.configure(&mut responder)?;
    let started = std::time::Instant::now();
    if a.emotion_only {
        let report = crate::eval::evaluate_emotion(&opts, &responder)?;
        report_file.write((serde_json::to_string_pretty(&report)? + "\n").as_bytes())?;
        println!(
            "| samples | emotion acc | emotion macro-F1 |\n|---|---|---|\n| {} | {:.2} | {:.2} |",
            report["samples"],
            report["emotion_acc"].as_f64().unwrap_or(f64::NAN),
            report["emotion_macro_f1"].as_f64().unwrap_or(f64::NAN)
        );
        eprintln!(
            "{} samples in {:.0} s; report {}",
            report["samples"],
            started.elapsed().as_secs_f64(),
            opts.out.display()
        );
        return Ok(());
    }
    let report = crate::eval::evaluate(&opts, &responder)?;
    let text = serde_json::to_string_pretty(&report)? + "\n";
    report_file.write(text.as_bytes())?;
    println!("{}", report.markdown());
    eprintln!(
        "{} samples in {:.0} s; report {}, replies {}",
        report.samples,
        started.elapsed().as_secs_f64(),
        opts.out.display(),
        crate::eval::replies_path(&opts.out).display()
    );
    Ok(())
}

pub fn export(a: ExportArgs) -> anyhow::Result<()> {
    let dir = crate::checkpoint::resolve(a.checkpoint.as_deref());
    if let ExportFormat::LexicalF16 = a.format {
        let bytes = crate::export::export_lexical_f16(&dir, &a.out)?;
        eprintln!(
            "lexical emotion reader written as f16 to {} ({bytes} bytes)",
            a.out.display()
        );
        return Ok(());
    }
    if let ExportFormat::BurnpackF16 = a.format {
        let weights = crate::export::export_burnpack_f16(&dir, &a.out)?;
        let bytes = std::fs::metadata(&a.out).map_or(0, |m| m.len());
        eprintln!(
            "{weights} weights written as f16 to {} ({bytes} bytes)",
            a.out.display()
        );
        return Ok(());
    }
    let tensors = crate::export::export_safetensors(&dir, &a.out)?;
    println!("| tensor | shape | dtype |\n|---|---|---|");
    for t in &tensors {
        println!("| `{}` | {:?} | {} |", t.name, t.shape, t.dtype);
    }
    let weights: usize = tensors
        .iter()
        .map(|t| t.shape.iter().product::<usize>())
        .sum();
    eprintln!(
        "{} tensors, {weights} weights written to {}",
        tensors.len(),
        a.out.display()
    );
    Ok(())
}

/// `LABEL=DIR` or `DIR` (labelled with the folder name) for every run, then one SVG.
pub fn plot(a: PlotArgs) -> anyhow::Result<()> {
    let mut runs = Vec::new();
    for r in &a.runs {
        let (label, dir) = match r.rsplit_once('=') {
            Some((l, d)) => (l.to_string(), PathBuf::from(d)),
            None => {
                let d = PathBuf::from(r);
                let l = d
                    .file_name()
                    .map_or(r.clone(), |n| n.to_string_lossy().to_string());
                (l, d)
            }
        };
        let path = dir.join(crate::checkpoint::METRICS);
        let text = std::fs::read_to_string(&path).map_err(|e| {
            anyhow::anyhow!(
                "cannot read {}: {e} (pass run folders written by `train`)",
                path.display()
            )
        })?;
        runs.push((label, text));
    }
    crate::output::OutputFile::check_new(&a.out)?
        .write(crate::plot::curves_svg(&runs).as_bytes())?;
    eprintln!("wrote {}", a.out.display());
    Ok(())
}

//! Opening a training run: the output folder checked against `--resume`, the run config (the file's for a new
//! run, the checkpoint's own on resume), the tokenizer and reason tagger (trained, or a fine-tune's base's, and
//! written for a new run; read back on resume), and the weights, optimizer and position it starts from.

use std::path::Path;

use burn::optim::{AdamWConfig, ModuleOptimizer};
use burn::prelude::*;

use super::inputs::reason_tagger;
use super::{RunConfig, TrainOptions, TrainState};
use crate::checkpoint as ckpt;
use crate::model::ReflectDiffu;
use crate::reason::ReasonTagger;
use crate::tokenizer::TextTokenizer;
use crate::train::{Reading, Result, TrainError, fail};

/// The run's config, after checking that `opts.out` suits a new run or a resumed one.
pub(super) fn run_config(opts: &TrainOptions) -> Result<RunConfig> {
    let out = &opts.out;
    let resuming = opts.resume;
    if resuming && !ckpt::has_generation(out) {
        if ckpt::has(out, ckpt::WEIGHTS) {
            fail!(
                "--resume: {} holds weights but no resume state ({}/{}; shipped checkpoints leave out the optimizer \
                 state); start a new run with --config into another --out",
                out.display(),
                ckpt::RESUME_DIR,
                ckpt::LATEST
            );
        }
        fail!(
            "--resume: {} has no checkpoint to resume from; start a new run without --resume",
            out.display()
        );
    }
    if !resuming && (ckpt::has(out, ckpt::WEIGHTS) || ckpt::has_generation(out)) {
        fail!(
            "{} already holds a checkpoint; pass --resume to continue it or choose another --out",
            out.display()
        );
    }
    if !resuming {
        // The run folder must take files before hours of work go into it.
        std::fs::create_dir_all(out)
            .reading(|| format!("cannot create the run folder {}", out.display()))?;
        crate::output::OutputFile::check_new(&out.join(ckpt::CONFIG))?;
    }
    if resuming {
        let cfg = ckpt::read_json::<RunConfig>(out, ckpt::CONFIG)?;
        cfg.validate()
            .map_err(|m| TrainError::file(&out.join(ckpt::CONFIG), m))?;
        Ok(cfg)
    } else {
        let path = opts
            .config
            .as_deref()
            .ok_or_else(|| TrainError::Run("--config FILE is required for a new run".into()))?;
        let mut cfg = RunConfig::load(path)?;
        if let Some(from) = &opts.init_from {
            let base = ckpt::read_json::<RunConfig>(from, ckpt::CONFIG)?;
            // The saved config records the tokenizer's real vocabulary size; the rest must match as written.
            // Exemplars may be added: a fine-tune can give a network trained without them its exemplar memory.
            let mut wanted = cfg.model.clone();
            wanted.vocab_size = base.model.vocab_size;
            wanted.exemplars = base.model.exemplars;
            let adds_exemplars =
                base.model.exemplar_count() == 0 || cfg.model.exemplars == base.model.exemplars;
            if wanted != base.model || !adds_exemplars {
                fail!(
                    "--from {}: its model section differs from {}'s; a fine-tune keeps the checkpoint's network \
                     (it may only add `exemplars` to one without), so copy the `model` section of {} into the config",
                    from.display(),
                    path.display(),
                    from.join(ckpt::CONFIG).display()
                );
            }
            let exemplars = cfg.model.exemplars;
            cfg.model = base.model;
            cfg.model.exemplars = exemplars;
            cfg.train.init_from = Some(from.clone());
        }
        Ok(cfg)
    }
}

/// The run's tokenizer and reason tagger: read from `opts.out` on resume; for a new run trained on the train
/// split's turns (the vocabulary size in `cfg` set to the tokenizer's) and written with the config.
pub(super) fn tokenizer_and_tagger(
    opts: &TrainOptions,
    cfg: &mut RunConfig,
    train_convs: &[crate::data::Conversation],
) -> Result<(TextTokenizer, ReasonTagger)> {
    let out = &opts.out;
    let reasons = |dir: &Path| -> Result<ReasonTagger> {
        ReasonTagger::from_bytes(&ckpt::read_reasons(dir)?).map_err(|e| TrainError::file(dir, e))
    };
    if opts.resume {
        let tok = TextTokenizer::from_bytes(&ckpt::read(out, ckpt::TOKENIZER)?)?;
        return Ok((tok, reasons(out)?));
    }
    // A new run: the tokenizer and tagger of the checkpoint it starts from, or new ones; kept in --out.
    let (json, tagger) = match &cfg.train.init_from {
        Some(from) => (ckpt::read(from, ckpt::TOKENIZER)?, reasons(from)?),
        None => {
            eprintln!(
                "training a {}-token BPE tokenizer on the train split…",
                cfg.model.vocab_size
            );
            let texts: Vec<String> = train_convs
                .iter()
                .flat_map(|c| c.turns.iter().cloned())
                .collect();
            let tok = TextTokenizer::train(texts.into_iter(), cfg.model.vocab_size)?;
            let tagger = reason_tagger(&cfg.train.reason_tags, opts.lexicons.as_deref())?;
            (tok.to_json()?.into_bytes(), tagger)
        }
    };
    let tok = TextTokenizer::from_bytes(&json)?;
    cfg.model.vocab_size = tok.vocab_size();
    ckpt::write_atomic(out, ckpt::TOKENIZER, &json)?;
    let (file, bytes) = tagger.to_file();
    ckpt::write_atomic(out, file, &bytes)?;
    ckpt::write_json(out, ckpt::CONFIG, &*cfg)?;
    Ok((tok, tagger))
}

/// The run's starting point: fresh weights (or, for a fine-tune, `train.init_from`'s) and a fresh optimizer, or on
/// `--resume` the newest generation's weights, optimizer state and position.
pub(super) fn starting_point(
    out: &Path,
    cfg: &RunConfig,
    resuming: bool,
    device: &Device,
) -> Result<(ReflectDiffu, ModuleOptimizer, TrainState)> {
    let mut model = cfg.model.init(device);
    if let (Some(from), false) = (&cfg.train.init_from, resuming) {
        let base = ckpt::read_json::<RunConfig>(from, ckpt::CONFIG)?.model;
        if base.exemplar_count() == 0 && cfg.model.exemplar_count() > 0 {
            // The checkpoint has no exemplar vectors: load it as it was built, then give it fresh ones.
            let loaded =
                ckpt::load_weights(from, base.init(device), ckpt::read(from, ckpt::WEIGHTS)?)?;
            model = ReflectDiffu {
                encoder: loaded.encoder,
                denoiser: loaded.denoiser.with_exemplar_slots(device),
            };
            eprintln!(
                "starting from the weights of {} with new exemplar vectors",
                from.display()
            );
        } else {
            model = ckpt::load_weights(from, model, ckpt::read(from, ckpt::WEIGHTS)?)?;
            eprintln!("starting from the weights of {}", from.display());
        }
    }
    // Gradients are clipped by their global norm in the loop (clip.rs), not by burn's per-tensor clipping.
    let mut optim = AdamWConfig::new()
        .with_weight_decay(cfg.train.weight_decay)
        .init();
    let mut state = TrainState::default();
    if resuming {
        let generation = ckpt::read_generation::<TrainState>(out)?;
        let place = out.join(ckpt::RESUME_DIR);
        // The top-level weights may predate the generation (a crash between its switch and the publish).
        ckpt::write_atomic(out, ckpt::WEIGHTS, &generation.weights)?;
        model = ckpt::load_weights(&place, model, generation.weights)?;
        optim = ckpt::load_optimizer(&place, optim, generation.optimizer)?;
        state = generation.state;
        // Lines logged after this generation will be logged again.
        ckpt::truncate_metrics(out, state.metrics_bytes)?;
        eprintln!(
            "resuming at epoch {} step {} ({} steps done)",
            state.epoch + 1,
            state.step_in_epoch,
            state.global_step
        );
    }
    Ok((model, optim, state))
}

//! The metrics log of a run (`metrics.jsonl`) and the curves drawn from it.

use std::path::Path;

use super::{CURVES, CheckpointError, METRICS, io_err, write_atomic};

/// Appends one JSON line to the metrics log.
pub fn append_metrics(dir: &Path, line: &serde_json::Value) -> Result<(), CheckpointError> {
    use std::io::Write;
    let path = dir.join(METRICS);
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .map_err(|e| io_err(&path, e))?;
    writeln!(f, "{line}").map_err(|e| io_err(&path, e))
}

/// Flushes the metrics log to disk and returns its length in bytes; a generation records it so that a resumed
/// run can cut the lines written after that generation (which it will write again).
pub fn sync_metrics(dir: &Path) -> Result<u64, CheckpointError> {
    let path = dir.join(METRICS);
    if !path.exists() {
        return Ok(0);
    }
    let f = std::fs::File::open(&path).map_err(|e| io_err(&path, e))?;
    f.sync_all().map_err(|e| io_err(&path, e))?;
    Ok(f.metadata().map_err(|e| io_err(&path, e))?.len())
}

/// Redraws `curves.svg` from the metrics log.
pub fn write_curves(dir: &Path) -> Result<(), CheckpointError> {
    let path = dir.join(METRICS);
    let text = std::fs::read_to_string(&path).map_err(|e| io_err(&path, e))?;
    let label = dir
        .file_name()
        .map_or("run".to_string(), |n| n.to_string_lossy().to_string());
    let svg = crate::plot::curves_svg(&[(label, text)]);
    write_atomic(dir, CURVES, svg.as_bytes())
}

/// Cuts the metrics log back to `len` bytes (what it held when the generation being resumed was written).
pub fn truncate_metrics(dir: &Path, len: u64) -> Result<(), CheckpointError> {
    let path = dir.join(METRICS);
    if !path.exists() {
        return Ok(());
    }
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .map_err(|e| io_err(&path, e))?;
    let now = f.metadata().map_err(|e| io_err(&path, e))?.len();
    if now > len {
        f.set_len(len).map_err(|e| io_err(&path, e))?;
        f.sync_all().map_err(|e| io_err(&path, e))?;
    }
    Ok(())
}

//! What both benchmarks share: the devices to time, from `BENCH_DEVICES` (default `flex,wgpu`).

use burn::prelude::*;

pub fn devices() -> Vec<(&'static str, Device)> {
    let wanted = std::env::var("BENCH_DEVICES").unwrap_or_else(|_| "flex,wgpu".into());
    let mut out = Vec::new();
    if wanted.contains("flex") {
        out.push(("flex", Device::flex()));
    }
    if wanted.contains("wgpu") {
        out.push(("wgpu", Device::wgpu(DeviceKind::DefaultDevice)));
    }
    out
}

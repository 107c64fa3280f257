//! kernels/: the fused sampling step's tensor-op reference against the host sampler, on Flex, and the fallback of
//! both kernels to their references (the CubeCL kernels themselves are checked in the WGPU smoke process).

mod common;

use burn::prelude::*;
use common::sampling::{assert_distribution, assert_matches_host, assert_nll_matches_reference};
use reflectdiffu::kernels::{Implementation, fused_supported};

#[test]
fn the_reference_draws_what_the_host_draws() {
    assert_matches_host(Implementation::Reference, &Device::flex());
}

#[test]
fn the_reference_samples_the_nucleus_distribution() {
    assert_distribution(Implementation::Reference, &Device::flex());
}

#[test]
fn flex_falls_back_to_the_reference() {
    let device = Device::flex();
    assert!(!fused_supported(&device));
    // asking for the kernel on a device without it runs the reference instead of failing
    assert_matches_host(Implementation::Fused, &device);
    assert_nll_matches_reference(Implementation::Fused, &device);
}

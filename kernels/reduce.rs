//! Shared-memory tree reductions for kernels that give each row one cube: every unit of the cube must call them
//! (they hold barriers, in a loop over halvings of `CUBE_DIM`, which must be a power of two), after the units have
//! written their values and passed a `sync_cube()`; the result lands in slot 0.

use cubecl::prelude::*;

/// Σ of the cube's values.
#[cube]
pub fn sum(values: &mut Shared<[f32]>) {
    let unit = UNIT_POS as usize;
    let mut half = (CUBE_DIM / 2) as usize;
    while half > 0 {
        if unit < half {
            let other = values[unit + half];
            values[unit] += other;
        }
        sync_cube();
        half /= 2;
    }
}

/// Max of the cube's values.
#[cube]
pub fn max<N: Numeric>(values: &mut Shared<[N]>) {
    let unit = UNIT_POS as usize;
    let mut half = (CUBE_DIM / 2) as usize;
    while half > 0 {
        if unit < half {
            let other = values[unit + half];
            if other > values[unit] {
                values[unit] = other;
            }
        }
        sync_cube();
        half /= 2;
    }
}

/// Max of `values` with its `index`, the lowest index on ties.
#[cube]
pub fn argmax(values: &mut Shared<[f32]>, index: &mut Shared<[u32]>) {
    let unit = UNIT_POS as usize;
    let mut half = (CUBE_DIM / 2) as usize;
    while half > 0 {
        if unit < half {
            let a = values[unit];
            let b = values[unit + half];
            let ia = index[unit];
            let ib = index[unit + half];
            if b > a || (b == a && ib < ia) {
                values[unit] = b;
                index[unit] = ib;
            }
        }
        sync_cube();
        half /= 2;
    }
}

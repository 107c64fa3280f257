//! A progress bar with a message and ETA on a terminal; plain log lines when stderr is not one (CI, pipes).

use std::io::IsTerminal;
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};

/// Plain-line mode logs this often.
const LOG_EVERY_SECS: f64 = 10.0;

pub struct Progress {
    bar: Option<ProgressBar>,
    total: usize,
    done: usize,
    start_done: usize,
    started: Instant,
    last_log: f64,
}

impl Progress {
    pub fn new(total: usize, done: usize) -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let b = ProgressBar::new(total as u64).with_position(done as u64);
            b.set_style(
                ProgressStyle::with_template(
                    "{elapsed_precise} [{bar:30}] {pos}/{len} {msg} ETA {eta}",
                )
                .expect("static template")
                .progress_chars("=> "),
            );
            b
        });
        Self {
            bar,
            total,
            done,
            start_done: done,
            started: Instant::now(),
            last_log: 0.0,
        }
    }

    pub fn tick(&mut self, msg: String) {
        self.tick_by(1, msg);
    }

    pub fn tick_by(&mut self, n: usize, msg: String) {
        self.done += n;
        match &self.bar {
            Some(b) => {
                b.set_message(msg);
                b.inc(n as u64);
            }
            None => {
                let el = self.started.elapsed().as_secs_f64();
                if el - self.last_log >= LOG_EVERY_SECS || self.done == self.total {
                    self.last_log = el;
                    let rate = (self.done - self.start_done) as f64 / el.max(1e-9);
                    let eta = (self.total - self.done) as f64 / rate.max(1e-9);
                    eprintln!(
                        "{}/{} {msg} ({:.2}/s, ETA {:.0}s)",
                        self.done, self.total, rate, eta
                    );
                }
            }
        }
    }

    pub fn println(&self, line: &str) {
        match &self.bar {
            Some(b) => b.println(line),
            None => eprintln!("{line}"),
        }
    }

    pub fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish();
        }
    }
}

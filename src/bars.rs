//! Terminal progress bars (indicatif) for the command line and the study binaries: a
//! [`Progress`] sink that draws one bar per task on standard error.

use std::io::IsTerminal;

use crate::progress::{Progress, Reporter, Task, Unit};

/// Draws each task as an indicatif bar on standard error.
#[derive(Debug, Clone, Copy, Default)]
pub struct Bars;

struct Bar(indicatif::ProgressBar);

impl Task for Bar {
    fn set_position(&self, pos: u64) {
        self.0.set_position(pos);
    }
    fn inc(&self, n: u64) {
        self.0.inc(n);
    }
    fn set_message(&self, msg: String) {
        self.0.set_message(msg);
    }
    fn finish_and_clear(&self) {
        self.0.finish_and_clear();
    }
}

impl Progress for Bars {
    fn start(&self, label: &str, unit: Unit, total: u64, position: u64) -> Box<dyn Task> {
        let bar = indicatif::ProgressBar::new(total);
        let template = match unit {
            Unit::Runs => format!(
                "{{spinner}} {label} [{{elapsed_precise}}] {{bar:40}} {{pos}}/{{len}} runs ({{per_sec}}, eta {{eta}})"
            ),
            Unit::Points => format!(
                "{{spinner}} {label} [{{elapsed_precise}}] {{bar:40}} {{pos}}/{{len}} points ({{per_sec}}, eta {{eta}})"
            ),
            Unit::Epochs => format!(
                "{{spinner}} {label} [{{bar:40}}] {{pos}}/{{len}} epochs {{msg}} {{elapsed_precise}}"
            ),
            Unit::Permille => {
                format!(
                    "{{spinner}} {label} [{{bar:40}}] {{percent}}% {{elapsed_precise}} eta {{eta}}"
                )
            }
        };
        if let Ok(style) = indicatif::ProgressStyle::with_template(&template) {
            bar.set_style(style);
        }
        bar.set_position(position);
        Box::new(Bar(bar))
    }
}

/// Bars when `show`, otherwise silence.
pub fn bars(show: bool) -> Reporter {
    if show {
        Reporter::new(Bars)
    } else {
        Reporter::none()
    }
}

/// Bars when standard error is a terminal (not when it is redirected to a file or a pipe).
pub fn on_terminal() -> Reporter {
    bars(std::io::stderr().is_terminal())
}

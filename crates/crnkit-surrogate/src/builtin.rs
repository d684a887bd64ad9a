//! Surrogates shipped with crnkit: trained weights, their cards and the distillation settings
//! that produced them, compiled into the library so that a query needs no training.
//!
//! Each lives in `crates/crnkit-surrogate/builtin/NAME/` as `card.json` (network, box,
//! caps, held-out metrics and the weights' SHA-256), `model.safetensors` and `distill.toml`.
//! They were trained with `crnkit distill builtin/NAME/distill.toml` and copied there;
//! the test `builtin_surrogates_reproduce_their_held_out_metrics` solves the held-out
//! teacher again and checks the recorded Hellinger distances.
//!
//! ```
//! use crnkit_surrogate::{Surrogate, builtin};
//!
//! let names: Vec<&str> = builtin::BUILTIN.iter().map(|b| b.name).collect();
//! assert!(names.contains(&"autoregulated"));
//! let s = Surrogate::open("builtin:autoregulated")?;
//! let p = s.marginal(1, &[1.0, 0.05, 5.0, 50.0], 5.0)?;
//! assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-6);
//! assert!(Surrogate::open("builtin:nothing").is_err());
//! # Ok::<(), crnkit_surrogate::Error>(())
//! ```

use std::path::Path;

use crnkit_core::progress::Reporter;

use crate::teacher::{TeacherConfig, solve_teacher};
use crate::{Error, InitialBox, Result, Surrogate, design_points, hellinger_on};

/// The prefix naming a built-in surrogate where a folder is expected: `builtin:NAME`.
pub const PREFIX: &str = "builtin:";

/// A surrogate shipped with crnkit.
#[derive(Debug, Clone, Copy)]
pub struct Builtin {
    /// Its name (`builtin:NAME`).
    pub name: &'static str,
    /// One line on what it answers.
    pub about: &'static str,
    /// The distillation settings it was trained with (TOML for `crnkit distill`).
    pub distill: &'static str,
    /// `card.json`.
    pub card: &'static [u8],
    /// `model.safetensors`.
    pub weights: &'static [u8],
    /// `validation.csv` written by the distillation: the Hellinger distance per held-out
    /// design point and time.
    pub validation: &'static str,
}

impl Builtin {
    /// Load it, checking its card and the weights' checksum.
    pub fn load(&self) -> Result<Surrogate> {
        Surrogate::from_bytes(
            self.card,
            &format!("{PREFIX}{}/card.json", self.name),
            self.weights,
            &format!("{PREFIX}{}/model.safetensors", self.name),
        )
    }

    /// The recorded Hellinger distance per held-out (point, time) pair, from
    /// [`Builtin::validation`], in order.
    pub fn recorded_hellinger(&self) -> Result<Vec<f64>> {
        self.validation
            .lines()
            .skip(1)
            .map(|line| {
                line.rsplit(',')
                    .next()
                    .and_then(|v| v.parse().ok())
                    .ok_or_else(|| Error::Card {
                        reason: format!("{PREFIX}{}/validation.csv: bad row `{line}`", self.name),
                    })
            })
            .collect()
    }

    /// The Hellinger distance between the shipped model and the exact FSP teacher, solved
    /// again from [`Builtin::distill`], for each (point, time) of the first `points`
    /// held-out design points, in the order of [`Builtin::recorded_hellinger`].
    pub fn held_out_hellinger(&self, points: usize) -> Result<Vec<f64>> {
        let s = self.load()?;
        let file =
            crate::config::parse(self.distill, &format!("{PREFIX}{}/distill.toml", self.name))?;
        let no_files = |p: &Path| -> crnkit_core::Result<crnkit_core::Network> {
            Err(crnkit_core::Error::InvalidSetting {
                name: "[model] file",
                value: p.display().to_string(),
                reason: "a built-in surrogate is distilled from a bundled model",
            })
        };
        let r = file.resolve(Path::new("."), &no_files, Reporter::none())?;
        let cfg = &r.config;
        let ib = cfg
            .initial
            .clone()
            .unwrap_or_else(|| InitialBox::fixed(&r.network.initial_state()));
        let n = points.min(cfg.val_points);
        let x = design_points(&cfg.params, &ib, cfg.train_points, n, cfg.design_seed);
        let teacher = TeacherConfig {
            caps: Some(s.card.arch.caps.clone()),
            ..cfg.teacher.clone()
        };
        let data = solve_teacher(&r.network, &cfg.params, &x, &teacher)?;
        hellinger_on(&s.model, &s.card.prompt, &data)
    }
}

macro_rules! shipped {
    ($name:literal, $about:literal) => {
        Builtin {
            name: $name,
            about: $about,
            distill: include_str!(concat!("../builtin/", $name, "/distill.toml")),
            card: include_bytes!(concat!("../builtin/", $name, "/card.json")),
            weights: include_bytes!(concat!("../builtin/", $name, "/model.safetensors")),
            validation: include_str!(concat!("../builtin/", $name, "/validation.csv")),
        }
    };
}

/// Every surrogate shipped with crnkit.
pub const BUILTIN: &[Builtin] = &[
    shipped!(
        "autoregulated",
        "autoregulated gene with feedback (Gb, P) over 4 rates, initial states and t in (0, 10]"
    ),
    shipped!(
        "toggle",
        "toggle switch with promoters (GA, GB, PA, PB) over 4 rates, initial states and t in (0, 10]"
    ),
];

/// The built-in surrogate `name`, or an error listing those that exist.
pub fn find(name: &str) -> Result<&'static Builtin> {
    BUILTIN
        .iter()
        .find(|b| b.name == name)
        .ok_or_else(|| Error::UnknownBuiltin {
            name: name.to_string(),
            known: BUILTIN
                .iter()
                .map(|b| b.name)
                .collect::<Vec<_>>()
                .join(", "),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_loads_with_a_recorded_checksum() {
        for b in BUILTIN {
            let s = b.load().unwrap_or_else(|e| panic!("{}: {e}", b.name));
            assert!(s.card.weights_sha256.is_some(), "{}", b.name);
            let cfg = crate::config::parse(b.distill, "distill.toml");
            assert!(cfg.is_ok(), "{}: {:?}", b.name, cfg.err());
        }
    }

    fn reproduces(b: &Builtin, points: usize) -> Vec<f64> {
        let found = b.held_out_hellinger(points).unwrap();
        let recorded = b.recorded_hellinger().unwrap();
        assert!(found.len() <= recorded.len(), "{}", b.name);
        for (k, (f, r)) in found.iter().zip(&recorded).enumerate() {
            // Floating-point summation order may differ across CPUs; 1e-6 is far below the
            // distances recorded (≥ 1e-3) and far above rounding.
            assert!(
                (f - r).abs() <= 1e-6,
                "{} pair {k}: {f} vs recorded {r}",
                b.name
            );
        }
        found
    }

    /// Every held-out point solved again (about 6 s for both): each recorded distance and the
    /// card's median, 90th percentile and maximum.
    #[test]
    fn builtin_surrogates_reproduce_their_held_out_metrics() {
        for b in BUILTIN {
            let s = b.load().unwrap();
            let m = &s.card.metrics;
            let found = reproduces(b, usize::MAX);
            assert_eq!(found.len(), m.val_points * m.times.len(), "{}", b.name);
            let max = found.iter().copied().fold(0.0, f64::max);
            for (what, f, r) in [
                ("median", crate::quantile(&found, 0.5), m.hellinger_median),
                ("p90", crate::quantile(&found, 0.9), m.hellinger_p90),
                ("max", max, m.hellinger_max),
            ] {
                assert!((f - r).abs() <= 1e-6, "{} {what}: {f} vs card {r}", b.name);
            }
        }
    }

    #[test]
    fn the_card_matches_the_settings_shipped_beside_it() {
        for b in BUILTIN {
            let s = b.load().unwrap();
            let file = crate::config::parse(b.distill, "distill.toml").unwrap();
            let names: Vec<&str> = file.param.iter().map(|p| p.name.as_str()).collect();
            assert_eq!(s.card.prompt.params.names, names, "{}", b.name);
            let lo: Vec<f64> = file.param.iter().map(|p| p.lo).collect();
            let hi: Vec<f64> = file.param.iter().map(|p| p.hi).collect();
            assert_eq!(
                (&s.card.prompt.params.lo, &s.card.prompt.params.hi),
                (&lo, &hi)
            );
            assert_eq!(
                s.card.metrics.val_points, file.design.val_points,
                "{}",
                b.name
            );
            assert_eq!(
                s.card.metrics.train_points, file.design.train_points,
                "{}",
                b.name
            );
            assert_eq!(s.card.arch.hidden, file.network.hidden, "{}", b.name);
        }
    }

    #[test]
    fn a_damaged_weight_file_is_refused_by_name() {
        let b = find("autoregulated").unwrap();
        let mut weights = b.weights.to_vec();
        let k = weights.len() - 7;
        weights[k] ^= 0x10;
        let e = Surrogate::from_bytes(b.card, "card.json", &weights, "w.safetensors")
            .unwrap_err()
            .to_string();
        assert!(e.contains("w.safetensors") && e.contains("SHA-256"), "{e}");
        assert!(e.contains("damaged or belongs to another model"), "{e}");
    }

    #[test]
    fn weights_of_another_model_are_refused() {
        let a = find("autoregulated").unwrap();
        let s = a.load().unwrap();
        let arch = crate::model::Architecture {
            hidden: s.card.arch.hidden / 2,
            ..s.card.arch.clone()
        };
        let dir = std::env::temp_dir().join(format!("crnkit-builtin-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("other.safetensors");
        crate::Model::new(arch, 3)
            .unwrap()
            .save_weights(&path)
            .unwrap();
        let other = std::fs::read(&path).unwrap();
        std::fs::remove_dir_all(&dir).ok();
        let e = Surrogate::from_bytes(a.card, "card.json", &other, "other.safetensors")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("other.safetensors") && e.contains("SHA-256"),
            "{e}"
        );
        // Without the checksum the shapes still refuse them, by name.
        let mut card: crate::Card = serde_json::from_slice(a.card).unwrap();
        card.weights_sha256 = None;
        let text = serde_json::to_vec(&card).unwrap();
        let e = Surrogate::from_bytes(&text, "card.json", &other, "other.safetensors")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("other.safetensors") && e.contains("expected"),
            "{e}"
        );
    }

    #[test]
    fn an_unknown_name_lists_the_shipped_ones() {
        let e = Surrogate::open("builtin:autoregulatd")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("`autoregulatd`") && e.contains("built in: autoregulated, toggle"),
            "{e}"
        );
    }

    #[test]
    fn a_damaged_card_is_refused_by_name() {
        let b = find("autoregulated").unwrap();
        let e = Surrogate::from_bytes(&b.card[..b.card.len() / 2], "x/card.json", b.weights, "w")
            .unwrap_err()
            .to_string();
        assert!(e.contains("x/card.json"), "{e}");
    }
}

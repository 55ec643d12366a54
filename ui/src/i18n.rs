//! English and Spanish. Every text of the interface is written in both languages
//! side by side where it is used: `t("Patients", "Pacientes")`.

use cardiorisk_contract::{
    CommandError, ErrorKind, FieldError, FieldKind, FieldSpec, Problem, RiskBand,
};
use leptos::prelude::*;
use std::sync::OnceLock;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Lang {
    En,
    Es,
}

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Es => "es",
        }
    }

    pub fn from_code(code: &str) -> Lang {
        if code == "es" {
            Lang::Es
        } else {
            Lang::En
        }
    }
}

static LANG: OnceLock<RwSignal<Lang>> = OnceLock::new();

/// Called once by the root component, whose owner lives as long as the page.
pub fn init() -> RwSignal<Lang> {
    *LANG.get_or_init(|| RwSignal::new(Lang::En))
}

/// The current language; tracked when read inside a reactive closure.
pub fn lang() -> Lang {
    LANG.get().map(|s| s.get()).unwrap_or(Lang::En)
}

pub fn t(en: &'static str, es: &'static str) -> &'static str {
    match lang() {
        Lang::En => en,
        Lang::Es => es,
    }
}

/// A text for a view that follows language changes.
pub fn tr(
    en: &'static str,
    es: &'static str,
) -> impl Fn() -> &'static str + Copy + Send + Sync + 'static {
    move || t(en, es)
}

pub fn field_label(spec: &FieldSpec) -> &'static str {
    match spec.name {
        "colesterol" => t("Total cholesterol", "Colesterol total"),
        "presion" => t("Blood pressure", "Presión arterial"),
        "glucosa" => t("Blood glucose", "Glucosa en sangre"),
        "edad" => t("Age", "Edad"),
        "sobrepeso" => t("Overweight", "Sobrepeso"),
        "tabaquismo" => t("Smoker", "Fumador"),
        _ => spec.label,
    }
}

pub fn field_unit(spec: &FieldSpec) -> &'static str {
    match (spec.unit, lang()) {
        ("years", Lang::Es) => "años",
        (unit, _) => unit,
    }
}

pub fn range_text(spec: &FieldSpec) -> String {
    match lang() {
        Lang::En => spec.range_text(),
        Lang::Es => match spec.kind {
            FieldKind::Flag => "0 o 1".to_string(),
            FieldKind::Whole => format!("un número entero de {} a {}", spec.min, spec.max),
            FieldKind::Decimal => format!("{:.1} a {:.1} {}", spec.min, spec.max, spec.unit)
                .trim_end()
                .to_string(),
        },
    }
}

/// The inline message for one field; names the field and its valid range.
pub fn field_error(spec: &FieldSpec, problem: Problem) -> String {
    match lang() {
        Lang::En => FieldError::new(spec, problem).message,
        Lang::Es => {
            let what = match problem {
                Problem::Missing => "falta",
                Problem::NotANumber => "no es un número",
                Problem::NotFinite => "no es un número finito",
                Problem::OutOfRange => "está fuera de rango",
                Problem::NotWhole => "debe ser un número entero",
                Problem::NotFlag => "debe ser 0 o 1",
                Problem::Invalid => "no es válido",
            };
            format!("{} {what}: válido es {}", spec.name, range_text(spec))
        }
    }
}

pub fn band_label(band: RiskBand) -> &'static str {
    match band {
        RiskBand::Low => t("Low risk", "Riesgo bajo"),
        RiskBand::Moderate => t("Moderate risk", "Riesgo moderado"),
        RiskBand::High => t("High risk", "Riesgo alto"),
    }
}

pub fn yes_no(flag: bool) -> &'static str {
    if flag {
        t("yes", "sí")
    } else {
        t("no", "no")
    }
}

/// What to show for a backend error: its own words, with a translated lead for
/// the kinds whose remedy is always the same.
pub fn error_text(e: &CommandError) -> String {
    if lang() == Lang::En {
        return e.message.clone();
    }
    match e.kind {
        ErrorKind::Unauthenticated => {
            "Su sesión ha terminado (cerrada, o inactiva demasiado tiempo). Inicie sesión de nuevo."
                .into()
        }
        ErrorKind::Forbidden => "Solo un administrador puede hacer esto.".into(),
        ErrorKind::Locked => format!("Cuenta bloqueada temporalmente. ({})", e.message),
        ErrorKind::NotFound => format!("No encontrado. ({})", e.message),
        _ => e.message.clone(),
    }
}

/// "2026-11-29T10:15:03.123Z" as "2026-11-29 10:15".
pub fn when(rfc3339: &str) -> String {
    rfc3339.replace('T', " ").chars().take(16).collect()
}

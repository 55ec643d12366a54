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

/// How the three decimal measurements are shown and typed: in the original data's
/// units (g/L, hundreds of mmHg) or the conventional ones (mg/dL, mmHg), which are
/// the original values times 100. The model and the database always use the original.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Units {
    Original,
    Conventional,
}

impl Units {
    pub fn code(self) -> &'static str {
        match self {
            Units::Original => "original",
            Units::Conventional => "conventional",
        }
    }

    pub fn from_code(code: &str) -> Units {
        if code == "conventional" {
            Units::Conventional
        } else {
            Units::Original
        }
    }
}

static LANG: OnceLock<RwSignal<Lang>> = OnceLock::new();
static UNITS: OnceLock<RwSignal<Units>> = OnceLock::new();

pub fn init_units() -> RwSignal<Units> {
    *UNITS.get_or_init(|| RwSignal::new(Units::Original))
}

/// The current units; tracked when read inside a reactive closure.
pub fn units() -> Units {
    UNITS.get().map(|s| s.get()).unwrap_or(Units::Original)
}

/// From the model's unit to the shown one.
pub fn factor(spec: &FieldSpec) -> f64 {
    if units() == Units::Conventional && spec.kind == FieldKind::Decimal {
        100.0
    } else {
        1.0
    }
}

/// A stored value as shown, without its unit ("2.4", or "240" in mg/dL).
pub fn show_value(spec: &FieldSpec, value: f64) -> String {
    match spec.kind {
        FieldKind::Flag => yes_no(value == 1.0).to_string(),
        FieldKind::Whole => format!("{value:.0}"),
        FieldKind::Decimal if factor(spec) > 1.0 => format!("{:.0}", value * factor(spec)),
        FieldKind::Decimal => format!("{value:.1}"),
    }
}

/// Typed text in the shown unit to the model's value, checked against the field's rules.
pub fn parse_shown(spec: &FieldSpec, text: &str) -> Result<f64, Problem> {
    let text = text.trim();
    if text.is_empty() {
        return Err(Problem::Missing);
    }
    let typed: f64 = text.parse().map_err(|_| Problem::NotANumber)?;
    if !typed.is_finite() {
        return Err(Problem::NotFinite);
    }
    let value = typed / factor(spec);
    spec.check(value)?;
    Ok(value)
}

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
    t(spec.label, spec.label_es)
}

pub fn field_unit(spec: &FieldSpec) -> &'static str {
    match (spec.name, units(), lang()) {
        ("colesterol" | "glucosa", Units::Conventional, _) => "mg/dL",
        ("presion", Units::Conventional, _) => "mmHg",
        ("edad", _, Lang::Es) => "años",
        _ => spec.unit,
    }
}

pub fn range_text(spec: &FieldSpec) -> String {
    let to = t("to", "a");
    match spec.kind {
        FieldKind::Flag => t("0 or 1", "0 o 1").to_string(),
        FieldKind::Whole => format!(
            "{} {} {to} {}",
            t("a whole number from", "un número entero de"),
            spec.min,
            spec.max
        ),
        FieldKind::Decimal if factor(spec) > 1.0 => format!(
            "{:.0} {to} {:.0} {}",
            spec.min * factor(spec),
            spec.max * factor(spec),
            field_unit(spec)
        ),
        FieldKind::Decimal => format!("{:.1} {to} {:.1} {}", spec.min, spec.max, field_unit(spec))
            .trim_end()
            .to_string(),
    }
}

/// The inline message for one field; names the field and its valid range.
pub fn field_error(spec: &FieldSpec, problem: Problem) -> String {
    match lang() {
        Lang::En if units() == Units::Original => FieldError::new(spec, problem).message,
        Lang::En => format!(
            "{} {}: valid is {}",
            spec.name,
            problem.words(),
            range_text(spec)
        ),
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
    band.label(lang() == Lang::Es)
}

pub fn yes_no(flag: bool) -> &'static str {
    if flag {
        t("yes", "sí")
    } else {
        t("no", "no")
    }
}

/// A field's error in the current language. The rules (and their English words)
/// come from the shared contract; the Spanish words for each field are here.
pub fn field_message(field: &str, english: &str) -> String {
    if lang() == Lang::En {
        return english.to_string();
    }
    let es = match field {
        "record_number" => "record_number debe tener de 1 a 32 letras, cifras, '-' o '/'",
        "name" => "name debe tener de 1 a 100 caracteres",
        "display_name" => "display_name debe tener de 1 a 100 caracteres",
        "birth_year" => "birth_year debe ser un año de 1900 a 2100, o quedar vacío",
        "notes" => "notes admite como máximo 2000 caracteres",
        "username" => "username debe tener de 3 a 32 caracteres: letras, cifras, '.', '-' o '_'",
        "password" => "password debe tener de 10 a 256 caracteres",
        "hidden" => "hidden: de una a cuatro capas, cada una de 1 a 512 unidades (p. ej. 32,16)",
        "max_epochs" => "max_epochs debe ser de 1 a 10000",
        "batch_size" => "batch_size debe ser de 1 a 65536",
        "learning_rate" => "learning_rate debe ser mayor que 0 y como máximo 1",
        "validation_fraction" => "validation_fraction debe ser de 0.05 a 0.5",
        "patience" => "patience debe ser al menos 1",
        "seed" => "seed debe ser un número entero",
        _ => return english.to_string(),
    };
    es.to_string()
}

/// What a failed sign-in says: the backend's words in English, fixed ones in Spanish.
pub fn sign_in_error_text(e: &CommandError) -> String {
    match (lang(), e.kind) {
        (Lang::Es, ErrorKind::Unauthenticated) => "Usuario o contraseña incorrectos.".into(),
        (Lang::Es, ErrorKind::Locked) => format!(
            "La cuenta está bloqueada o desactivada; pruebe más tarde o pida ayuda a un administrador. ({})",
            e.message
        ),
        _ => error_text(e),
    }
}

/// What to show for a backend error: its own words, with a translated lead for
/// the kinds whose remedy is always the same.
pub fn error_text(e: &CommandError) -> String {
    if lang() == Lang::En {
        return e.message.clone();
    }
    if e.kind == ErrorKind::Invalid && !e.fields.is_empty() {
        return e
            .fields
            .iter()
            .map(|f| field_message(&f.field, &f.message))
            .collect::<Vec<_>>()
            .join("; ");
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

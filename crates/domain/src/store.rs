//! Money: currencies, prices and the states of a purchase. A product sells access to a
//! course; it never changes the course's content.

use std::fmt;

/// ISO 4217 codes accepted for prices, with their minor units (digits after the point).
const CURRENCIES: &[(&str, u32)] = &[
    ("AED", 2),
    ("ARS", 2),
    ("AUD", 2),
    ("BGN", 2),
    ("BHD", 3),
    ("BRL", 2),
    ("CAD", 2),
    ("CHF", 2),
    ("CLP", 0),
    ("CNY", 2),
    ("COP", 2),
    ("CZK", 2),
    ("DKK", 2),
    ("EGP", 2),
    ("EUR", 2),
    ("GBP", 2),
    ("HKD", 2),
    ("HUF", 2),
    ("IDR", 2),
    ("ILS", 2),
    ("INR", 2),
    ("ISK", 0),
    ("JOD", 3),
    ("JPY", 0),
    ("KES", 2),
    ("KRW", 0),
    ("KWD", 3),
    ("MAD", 2),
    ("MXN", 2),
    ("MYR", 2),
    ("NGN", 2),
    ("NOK", 2),
    ("NZD", 2),
    ("OMR", 3),
    ("PEN", 2),
    ("PHP", 2),
    ("PKR", 2),
    ("PLN", 2),
    ("QAR", 2),
    ("RON", 2),
    ("SAR", 2),
    ("SEK", 2),
    ("SGD", 2),
    ("THB", 2),
    ("TND", 3),
    ("TRY", 2),
    ("TWD", 2),
    ("UAH", 2),
    ("UGX", 0),
    ("USD", 2),
    ("VND", 0),
    ("XAF", 0),
    ("XOF", 0),
    ("ZAR", 2),
];

/// The most a price may be, in minor units.
pub const MAX_PRICE: i64 = 100_000_000;

/// A currency we accept, by its ISO 4217 code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Currency {
    code: &'static str,
    minor_units: u32,
}

impl Currency {
    /// The currency of an upper-case ISO 4217 code we accept.
    pub fn parse(code: &str) -> Option<Self> {
        CURRENCIES
            .iter()
            .find(|(c, _)| *c == code)
            .map(|&(code, minor_units)| Self { code, minor_units })
    }

    pub fn code(self) -> &'static str {
        self.code
    }

    /// `amount` minor units in words: `49.00 EUR`, `4900 JPY`, `1.500 KWD`.
    pub fn format(self, amount: i64) -> String {
        if self.minor_units == 0 {
            return format!("{amount} {}", self.code);
        }
        let unit = 10_i64.pow(self.minor_units);
        let sign = if amount < 0 { "-" } else { "" };
        let a = amount.unsigned_abs();
        format!(
            "{sign}{}.{:0width$} {}",
            a / unit as u64,
            a % unit as u64,
            self.code,
            width = self.minor_units as usize
        )
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code)
    }
}

/// Where a purchase was paid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Provider {
    /// Recorded here: an admin's grant (an invoice paid elsewhere, a scholarship), or a
    /// learner's purchase in test mode.
    Manual,
    Stripe,
}

impl Provider {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Manual => "manual",
            Self::Stripe => "stripe",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Manual, Self::Stripe]
            .into_iter()
            .find(|p| p.as_str() == s)
    }
}

/// A purchase is PAID, then perhaps REFUNDED, once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PurchaseStatus {
    Paid,
    Refunded,
}

impl PurchaseStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Paid => "PAID",
            Self::Refunded => "REFUNDED",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Paid, Self::Refunded]
            .into_iter()
            .find(|p| p.as_str() == s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn currencies_are_iso_codes_with_their_minor_units() {
        let eur = Currency::parse("EUR").expect("EUR");
        assert_eq!(eur.format(4900), "49.00 EUR");
        assert_eq!(eur.format(5), "0.05 EUR");
        assert_eq!(
            Currency::parse("JPY").expect("JPY").format(4900),
            "4900 JPY"
        );
        assert_eq!(
            Currency::parse("KWD").expect("KWD").format(1500),
            "1.500 KWD"
        );
        assert_eq!(Currency::parse("eur"), None, "upper case only");
        assert_eq!(Currency::parse("XXX"), None);
        assert_eq!(Currency::parse(""), None);
        let mut codes: Vec<&str> = CURRENCIES.iter().map(|c| c.0).collect();
        let n = codes.len();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), n, "each code once");
        for s in [PurchaseStatus::Paid, PurchaseStatus::Refunded] {
            assert_eq!(PurchaseStatus::parse(s.as_str()), Some(s));
        }
        for p in [Provider::Manual, Provider::Stripe] {
            assert_eq!(Provider::parse(p.as_str()), Some(p));
        }
    }
}

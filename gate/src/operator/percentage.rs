//! [`Percentage`]: a whole percentage from 0 to 100.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::Error;

/// A whole percentage from 0 to 100: it cannot be built out of range.
///
/// # Examples
///
/// ```
/// use gate::Percentage;
///
/// assert_eq!(Percentage::new(20)?.get(), 20);
/// assert!(Percentage::new(101).is_err());
/// assert_eq!(serde_json::to_string(&Percentage::HUNDRED).unwrap(), "100");
/// assert!(serde_json::from_str::<Percentage>("200").is_err());
/// # Ok::<_, gate::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "u32", into = "u32")]
pub struct Percentage(u8);

impl Percentage {
    /// 0 %: nobody.
    pub const ZERO: Percentage = Percentage(0);
    /// 100 %: everybody.
    pub const HUNDRED: Percentage = Percentage(100);

    /// `p` percent.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidPercentage`] when `p > 100`.
    pub fn new(p: u32) -> Result<Percentage, Error> {
        u8::try_from(p)
            .ok()
            .filter(|p| *p <= 100)
            .map(Percentage)
            .ok_or(Error::InvalidPercentage { value: p })
    }

    /// The percentage, from 0 to 100.
    pub const fn get(self) -> u8 {
        self.0
    }
}

impl TryFrom<u32> for Percentage {
    type Error = Error;

    fn try_from(p: u32) -> Result<Self, Error> {
        Percentage::new(p)
    }
}

impl From<Percentage> for u32 {
    fn from(p: Percentage) -> u32 {
        u32::from(p.0)
    }
}

impl fmt::Display for Percentage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}%", self.0)
    }
}

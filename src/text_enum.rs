//! Enums stored and sent as text (statuses, kinds, roles, query values): the variant ↔ text table
//! is written once, in the `text_enum!` declaration, and everything else is generated from it.

/// A text the enum has no variant for (a corrupt row, an unknown query value).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{text:?} is not a known {kind}")]
pub struct UnknownText {
    pub kind: &'static str,
    pub text: String,
}

/// Declares a field-less enum with one text per variant and generates `ALL` (in declaration
/// order), `as_str`, `parse` and `TryFrom<String>` (what `#[sqlx(try_from = "String")]` uses to
/// read the column).
#[macro_export]
macro_rules! text_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $($(#[$variant_meta:meta])* $variant:ident = $text:literal),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        $vis enum $name {
            $($(#[$variant_meta])* $variant),+
        }

        impl $name {
            pub const ALL: [$name; [$($text),+].len()] = [$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }

            pub fn parse(text: &str) -> Option<Self> {
                match text {
                    $($text => Some($name::$variant),)+
                    _ => None,
                }
            }
        }

        impl TryFrom<String> for $name {
            type Error = $crate::text_enum::UnknownText;

            fn try_from(text: String) -> Result<Self, Self::Error> {
                Self::parse(&text).ok_or($crate::text_enum::UnknownText {
                    kind: stringify!($name),
                    text,
                })
            }
        }
    };
}

#[cfg(test)]
mod tests {
    crate::text_enum! {
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        enum Colour {
            Red = "red",
            /// Two words, as a column would hold them.
            DarkBlue = "dark_blue",
        }
    }

    #[test]
    fn every_variant_reads_back_from_its_own_text_and_nothing_else_reads() {
        assert_eq!(Colour::ALL, [Colour::Red, Colour::DarkBlue]);
        for colour in Colour::ALL {
            assert_eq!(Colour::parse(colour.as_str()), Some(colour));
            assert_eq!(Colour::try_from(colour.as_str().to_string()), Ok(colour));
        }
        assert_eq!(Colour::parse("Red"), None);
        assert_eq!(
            Colour::try_from("green".to_string()).map_err(|e| e.to_string()),
            Err("\"green\" is not a known Colour".to_string())
        );
    }
}

//! The sandbox's products, from a config file (default
//! `tools/sandbox-products.json`): `{"products": [Product, ...]}`.

use super::model::Product;
use serde::Deserialize;
use std::collections::HashSet;
use std::path::{Path, PathBuf};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProductsFile {
    products: Vec<Product>,
}

/// The products file shipped beside the tools crate.
pub fn default_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("sandbox-products.json")
}

/// Reads and checks a products file; every problem names the file.
pub fn load(path: &Path) -> Result<Vec<Product>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    parse(&text).map_err(|e| format!("{}: {e}", path.display()))
}

pub fn parse(text: &str) -> Result<Vec<Product>, String> {
    let file: ProductsFile = serde_json::from_str(text).map_err(|e| e.to_string())?;
    let mut seen = HashSet::new();
    for p in &file.products {
        if p.id.is_empty() || !p.id.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(format!("product id {:?} is not visible ASCII", p.id));
        }
        if !seen.insert(p.id.as_str()) {
            return Err(format!("product id {} appears twice", p.id));
        }
        if p.price_amount < 0 {
            return Err(format!("product {}: negative price_amount", p.id));
        }
    }
    if file.products.is_empty() {
        return Err("no products".into());
    }
    Ok(file.products)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_products_file_sells_the_local_catalogue() {
        let products = load(&default_path()).unwrap();
        let (starter, pro, enterprise) = crate::local::LOCAL_PRODUCTS;
        for id in [starter, pro, enterprise] {
            assert!(
                products.iter().any(|p| p.id == id && !p.is_archived),
                "{id} is sold"
            );
        }
    }

    #[test]
    fn a_repeated_id_or_an_unknown_field_is_refused() {
        let p = r#"{"id":"p","name":"P","price_amount":1,"currency":"usd","recurring_interval":"month"}"#;
        assert!(parse(&format!(r#"{{"products":[{p},{p}]}}"#))
            .unwrap_err()
            .contains("twice"));
        assert!(parse(r#"{"products":[{"id":"p","name":"P","price_amount":1,"currency":"usd","recurring_interval":"month","tier":"pro"}]}"#).is_err());
    }
}

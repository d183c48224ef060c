//! AWS region codes (latency and geoproximity records name them) with the approximate
//! coordinates of each region's metropolitan area. Route 53 does not publish coordinates
//! (§3.6, §12); without a latency map, the great-circle distance from the client to these
//! points stands in for latency.

/// (code, latitude, longitude), sorted by code.
const REGIONS: &[(&str, f64, f64)] = &[
    ("af-south-1", -33.92, 18.42),
    ("ap-east-1", 22.32, 114.17),
    ("ap-east-2", 25.03, 121.57),
    ("ap-northeast-1", 35.68, 139.77),
    ("ap-northeast-2", 37.57, 126.98),
    ("ap-northeast-3", 34.69, 135.50),
    ("ap-south-1", 19.08, 72.88),
    ("ap-south-2", 17.39, 78.49),
    ("ap-southeast-1", 1.35, 103.82),
    ("ap-southeast-2", -33.87, 151.21),
    ("ap-southeast-3", -6.21, 106.85),
    ("ap-southeast-4", -37.81, 144.96),
    ("ap-southeast-5", 3.139, 101.687),
    ("ap-southeast-7", 13.76, 100.50),
    ("ca-central-1", 45.50, -73.57),
    ("ca-west-1", 51.05, -114.07),
    ("cn-north-1", 39.90, 116.40),
    ("cn-northwest-1", 38.47, 106.27),
    ("eu-central-1", 50.11, 8.68),
    ("eu-central-2", 47.37, 8.54),
    ("eu-north-1", 59.33, 18.07),
    ("eu-south-1", 45.46, 9.19),
    ("eu-south-2", 41.65, -0.88),
    ("eu-west-1", 53.35, -6.26),
    ("eu-west-2", 51.51, -0.13),
    ("eu-west-3", 48.86, 2.35),
    ("il-central-1", 32.09, 34.78),
    ("me-central-1", 25.20, 55.27),
    ("me-south-1", 26.07, 50.56),
    ("mx-central-1", 20.59, -100.39),
    ("sa-east-1", -23.55, -46.63),
    ("us-east-1", 38.95, -77.45),
    ("us-east-2", 39.96, -83.00),
    ("us-gov-east-1", 39.96, -83.00),
    ("us-gov-west-1", 45.52, -122.68),
    ("us-west-1", 37.34, -121.89),
    ("us-west-2", 45.84, -119.70),
];

/// Index of a region code (case-insensitive), for `Rule::Latency`.
pub fn index(code: &str) -> Option<u16> {
    REGIONS
        .binary_search_by(|(c, _, _)| c.cmp(&code.to_ascii_lowercase().as_str()))
        .ok()
        .map(|i| i as u16)
}

pub fn code(index: u16) -> &'static str {
    REGIONS[index as usize].0
}

pub fn coordinates(index: u16) -> (f64, f64) {
    let (_, lat, lon) = REGIONS[index as usize];
    (lat, lon)
}

pub fn all_codes() -> impl Iterator<Item = &'static str> {
    REGIONS.iter().map(|(c, _, _)| *c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_sorted_and_codes_resolve() {
        assert!(REGIONS.windows(2).all(|w| w[0].0 < w[1].0));
        assert_eq!(index("us-east-1").map(code), Some("us-east-1"));
        assert_eq!(index("EU-WEST-1").map(code), Some("eu-west-1"));
        assert_eq!(index("mars-north-1"), None);
    }
}

//! Distances for latency estimates and geoproximity (§3.6: great-circle distance, bias).

/// Mean Earth radius (IUGG), km.
const EARTH_RADIUS_KM: f64 = 6371.0088;

/// Great-circle distance between two (latitude, longitude) points in degrees (haversine).
pub fn great_circle_km(a: (f64, f64), b: (f64, f64)) -> f64 {
    let (la1, lo1) = (a.0.to_radians(), a.1.to_radians());
    let (la2, lo2) = (b.0.to_radians(), b.1.to_radians());
    let h = ((la2 - la1) / 2.0).sin().powi(2)
        + la1.cos() * la2.cos() * ((lo2 - lo1) / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_KM * h.sqrt().min(1.0).asin()
}

/// Route 53's bias (§3.6): positive bias shrinks the distance by that percentage, negative
/// bias grows it (`d / (1 + bias/100)`, so −50 doubles it).
pub fn biased(distance: f64, bias: i8) -> f64 {
    let b = bias.clamp(-99, 99) as f64 / 100.0;
    if b >= 0.0 {
        distance * (1.0 - b)
    } else {
        distance / (1.0 + b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seattle_to_frankfurt_is_about_8200_km() {
        let d = great_circle_km((47.61, -122.33), (50.11, 8.68));
        assert!((d - 8190.0).abs() < 60.0, "{d}");
        assert_eq!(great_circle_km((10.0, 20.0), (10.0, 20.0)), 0.0);
    }

    #[test]
    fn bias_follows_route53_examples() {
        // Bias 50: 150 km counts as 75 km; bias −50 doubles the distance.
        assert_eq!(biased(150.0, 50), 75.0);
        assert_eq!(biased(150.0, -50), 300.0);
        assert_eq!(biased(150.0, 0), 150.0);
    }
}

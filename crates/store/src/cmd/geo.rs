//! Geo commands: GEOADD, GEOPOS, GEODIST, GEOHASH, GEOSEARCH, GEOSEARCHSTORE and the
//! GEORADIUS family, on sorted sets whose scores are 52-bit interleaved geohashes.
//!
//! Everything numeric follows Redis 7.0 (`geo.c`, `geohash.c`, `geohash_helper.c`) step by
//! step, in the same floating-point operations, because clients see the results: positions are
//! the centres of the 26-step cells (printed with `%.17Lf`, trailing zeros cut), distances come
//! from the haversine formula on a 6372797.560856 m sphere (printed with `%.4f`), and searches
//! visit the same nine cells in the same order, so unsorted results come back in Redis's order
//! and sorted ones break ties the same way (a stable sort, or Redis's partial quicksort when
//! COUNT cuts the result short).

use super::zset::{
    first_in_range, reply_elements, zadd_apply, zset_for_read, Range, ScoreRange, ZaddFlags,
};
use super::{eq_ic, Ctx, NOT_INT, SYNTAX};
use crate::keyspace::{notify, Keyspace};
use crate::num::{parse_f64, parse_i64};
use crate::types::zset::{cmp_entry, ZSet};
use crate::value::Value;
use bytes::Bytes;
use resp::{format_human_double, Out};
use std::cmp::Ordering;

/// Geohash precision of stored scores: 26 bits per coordinate.
const GEO_STEP_MAX: u8 = 26;
/// Latitude limits of the Web Mercator projection that geohash scores cover.
const GEO_LAT_MIN: f64 = -85.05112878;
const GEO_LAT_MAX: f64 = 85.05112878;
const GEO_LONG_MIN: f64 = -180.0;
const GEO_LONG_MAX: f64 = 180.0;
/// Earth's quadratic mean radius for WGS-84, in metres.
const EARTH_RADIUS_IN_METERS: f64 = 6372797.560856;
/// Half the Mercator world width, used to estimate the search precision.
const MERCATOR_MAX: f64 = 20037726.37;
/// Degrees to radians, as Redis's `D_R` (`M_PI / 180.0`).
const D_R: f64 = std::f64::consts::PI / 180.0;

fn deg_rad(ang: f64) -> f64 {
    ang * D_R
}

fn rad_deg(ang: f64) -> f64 {
    ang / D_R
}

// ---------------------------------------------------------------------------------------------
// Geohash arithmetic (geohash.c).

/// An interval of one coordinate.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Span {
    min: f64,
    max: f64,
}

const LONG_SPAN: Span = Span {
    min: GEO_LONG_MIN,
    max: GEO_LONG_MAX,
};
const LAT_SPAN: Span = Span {
    min: GEO_LAT_MIN,
    max: GEO_LAT_MAX,
};

/// A geohash of `step` bits per coordinate: latitude in the even bits, longitude in the odd.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct HashBits {
    bits: u64,
    step: u8,
}

impl HashBits {
    /// The "excluded neighbour" marker (`GZERO` / `HASHISZERO`).
    fn is_zero(&self) -> bool {
        self.bits == 0 && self.step == 0
    }

    /// The hash shifted to the 52-bit score scale (`geohashAlign52Bits`).
    fn align52(&self) -> u64 {
        self.bits << (52 - self.step as u32 * 2)
    }
}

/// The cell a hash names.
#[derive(Debug, Clone, Copy)]
struct Area {
    long: Span,
    lat: Span,
}

/// Spreads the 32 bits of `x` over the even bits and those of `y` over the odd bits.
fn interleave64(x: u32, y: u32) -> u64 {
    fn spread(v: u32) -> u64 {
        let mut v = v as u64;
        v = (v | (v << 16)) & 0x0000_FFFF_0000_FFFF;
        v = (v | (v << 8)) & 0x00FF_00FF_00FF_00FF;
        v = (v | (v << 4)) & 0x0F0F_0F0F_0F0F_0F0F;
        v = (v | (v << 2)) & 0x3333_3333_3333_3333;
        (v | (v << 1)) & 0x5555_5555_5555_5555
    }
    spread(x) | (spread(y) << 1)
}

/// The inverse of [`interleave64`]: even bits in the low half, odd bits in the high half.
fn deinterleave64(v: u64) -> u64 {
    fn squash(mut v: u64) -> u64 {
        v &= 0x5555_5555_5555_5555;
        v = (v | (v >> 1)) & 0x3333_3333_3333_3333;
        v = (v | (v >> 2)) & 0x0F0F_0F0F_0F0F_0F0F;
        v = (v | (v >> 4)) & 0x00FF_00FF_00FF_00FF;
        v = (v | (v >> 8)) & 0x0000_FFFF_0000_FFFF;
        (v | (v >> 16)) & 0x0000_0000_FFFF_FFFF
    }
    squash(v) | (squash(v >> 1) << 32)
}

/// `geohashEncode`: None outside the coordinate limits or the given spans.
fn encode(
    long_span: Span,
    lat_span: Span,
    longitude: f64,
    latitude: f64,
    step: u8,
) -> Option<HashBits> {
    if !(GEO_LONG_MIN..=GEO_LONG_MAX).contains(&longitude)
        || !(GEO_LAT_MIN..=GEO_LAT_MAX).contains(&latitude)
    {
        return None;
    }
    if latitude < lat_span.min
        || latitude > lat_span.max
        || longitude < long_span.min
        || longitude > long_span.max
    {
        return None;
    }
    let mut lat_offset = (latitude - lat_span.min) / (lat_span.max - lat_span.min);
    let mut long_offset = (longitude - long_span.min) / (long_span.max - long_span.min);
    lat_offset *= (1u64 << step) as f64;
    long_offset *= (1u64 << step) as f64;
    // C converts the doubles to uint32_t by truncation.
    Some(HashBits {
        bits: interleave64(lat_offset as u32, long_offset as u32),
        step,
    })
}

/// `geohashEncodeWGS84`.
fn encode_wgs84(longitude: f64, latitude: f64, step: u8) -> Option<HashBits> {
    encode(LONG_SPAN, LAT_SPAN, longitude, latitude, step)
}

/// `geohashDecode` over the WGS-84 spans.
fn decode(hash: HashBits) -> Area {
    let sep = deinterleave64(hash.bits);
    let lat_scale = LAT_SPAN.max - LAT_SPAN.min;
    let long_scale = LONG_SPAN.max - LONG_SPAN.min;
    let ilato = sep as u32;
    let ilono = (sep >> 32) as u32;
    let cells = (1u64 << hash.step) as f64;
    Area {
        lat: Span {
            min: LAT_SPAN.min + (ilato as f64 * 1.0 / cells) * lat_scale,
            max: LAT_SPAN.min + ((ilato as f64 + 1.0) * 1.0 / cells) * lat_scale,
        },
        long: Span {
            min: LONG_SPAN.min + (ilono as f64 * 1.0 / cells) * long_scale,
            max: LONG_SPAN.min + ((ilono as f64 + 1.0) * 1.0 / cells) * long_scale,
        },
    }
}

/// The centre of a cell, clamped to the coordinate limits (`geohashDecodeAreaToLongLat`).
fn area_center(area: &Area) -> (f64, f64) {
    let x = ((area.long.min + area.long.max) / 2.0).clamp(GEO_LONG_MIN, GEO_LONG_MAX);
    let y = ((area.lat.min + area.lat.max) / 2.0).clamp(GEO_LAT_MIN, GEO_LAT_MAX);
    (x, y)
}

/// 2^63 as a double.
const TWO_POW_63: f64 = 9223372036854775808.0;

/// C's `(long long)d` on x86-64 (`cvttsd2si`): out of range and NaN give the "integer
/// indefinite" value, i64::MIN, where Rust's `as` would saturate.
fn c_double_to_i64(d: f64) -> i64 {
    if d.is_nan() || d >= TWO_POW_63 {
        i64::MIN
    } else {
        d as i64
    }
}

/// C's `(uint64_t)d` as GCC compiles it on x86-64: values below 2^63 go through the signed
/// conversion (so -5 becomes 2^64 - 5), larger ones are offset by 2^63 first.
fn c_double_to_u64(d: f64) -> u64 {
    if d < TWO_POW_63 {
        c_double_to_i64(d) as u64
    } else {
        (c_double_to_i64(d - TWO_POW_63) as u64) ^ (1 << 63)
    }
}

/// Longitude and latitude of a stored score (`decodeGeohash`). Scores that no GEOADD wrote
/// (negative, huge, infinite) decode to whatever Redis's C conversion makes of them.
fn decode_score(score: f64) -> (f64, f64) {
    area_center(&decode(HashBits {
        bits: c_double_to_u64(score),
        step: GEO_STEP_MAX,
    }))
}

/// Moves a hash one cell east (`d > 0`) or west (`geohash_move_x`).
fn move_x(hash: &mut HashBits, d: i8) {
    if d == 0 {
        return;
    }
    let shift = 64 - hash.step as u32 * 2;
    let mut x = hash.bits & 0xaaaa_aaaa_aaaa_aaaa;
    let y = hash.bits & 0x5555_5555_5555_5555;
    let zz = 0x5555_5555_5555_5555u64.checked_shr(shift).unwrap_or(0);
    if d > 0 {
        x = x.wrapping_add(zz.wrapping_add(1));
    } else {
        x |= zz;
        x = x.wrapping_sub(zz.wrapping_add(1));
    }
    x &= 0xaaaa_aaaa_aaaa_aaaau64.checked_shr(shift).unwrap_or(0);
    hash.bits = x | y;
}

/// Moves a hash one cell north (`d > 0`) or south (`geohash_move_y`).
fn move_y(hash: &mut HashBits, d: i8) {
    if d == 0 {
        return;
    }
    let shift = 64 - hash.step as u32 * 2;
    let x = hash.bits & 0xaaaa_aaaa_aaaa_aaaa;
    let mut y = hash.bits & 0x5555_5555_5555_5555;
    let zz = 0xaaaa_aaaa_aaaa_aaaau64.checked_shr(shift).unwrap_or(0);
    if d > 0 {
        y = y.wrapping_add(zz.wrapping_add(1));
    } else {
        y |= zz;
        y = y.wrapping_sub(zz.wrapping_add(1));
    }
    y &= 0x5555_5555_5555_5555u64.checked_shr(shift).unwrap_or(0);
    hash.bits = x | y;
}

/// The eight neighbours of a cell.
#[derive(Debug, Clone, Copy, Default)]
struct Neighbors {
    north: HashBits,
    east: HashBits,
    west: HashBits,
    south: HashBits,
    north_east: HashBits,
    south_east: HashBits,
    north_west: HashBits,
    south_west: HashBits,
}

/// `geohashNeighbors`.
fn neighbors(hash: &HashBits) -> Neighbors {
    let at = |dx: i8, dy: i8| {
        let mut h = *hash;
        move_x(&mut h, dx);
        move_y(&mut h, dy);
        h
    };
    Neighbors {
        east: at(1, 0),
        west: at(-1, 0),
        south: at(0, -1),
        north: at(0, 1),
        north_west: at(-1, 1),
        south_west: at(-1, -1),
        north_east: at(1, 1),
        south_east: at(1, -1),
    }
}

// ---------------------------------------------------------------------------------------------
// Distances and search areas (geohash_helper.c).

/// Distance along a meridian (`geohashGetLatDistance`).
fn lat_distance(lat1d: f64, lat2d: f64) -> f64 {
    EARTH_RADIUS_IN_METERS * (deg_rad(lat2d) - deg_rad(lat1d)).abs()
}

/// Haversine distance in metres (`geohashGetDistance`).
fn distance(lon1d: f64, lat1d: f64, lon2d: f64, lat2d: f64) -> f64 {
    let lon1r = deg_rad(lon1d);
    let lon2r = deg_rad(lon2d);
    let v = ((lon2r - lon1r) / 2.0).sin();
    if v == 0.0 {
        return lat_distance(lat1d, lat2d);
    }
    let lat1r = deg_rad(lat1d);
    let lat2r = deg_rad(lat2d);
    let u = ((lat2r - lat1r) / 2.0).sin();
    let a = u * u + lat1r.cos() * lat2r.cos() * v * v;
    2.0 * EARTH_RADIUS_IN_METERS * a.sqrt().asin()
}

/// The shape a search covers.
#[derive(Debug, Clone, Copy, PartialEq)]
enum ShapeKind {
    /// BYRADIUS / GEORADIUS: a radius in the unit.
    Circle(f64),
    /// BYBOX: width and height in the unit.
    Rect(f64, f64),
}

/// A search: its centre, shape, and metres per unit.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Shape {
    long: f64,
    lat: f64,
    kind: ShapeKind,
    conversion: f64,
}

impl Shape {
    /// The distance from the centre when (x, y) is inside the shape (`geoWithinShape`).
    fn contains(&self, x: f64, y: f64) -> Option<f64> {
        match self.kind {
            ShapeKind::Circle(radius) => {
                let d = distance(self.long, self.lat, x, y);
                (d <= radius * self.conversion).then_some(d)
            }
            ShapeKind::Rect(width, height) => {
                let (width_m, height_m) = (width * self.conversion, height * self.conversion);
                if lat_distance(y, self.lat) > height_m / 2.0 {
                    return None;
                }
                if distance(x, y, self.long, y) > width_m / 2.0 {
                    return None;
                }
                Some(distance(self.long, self.lat, x, y))
            }
        }
    }

    /// [min long, min lat, max long, max lat] around the shape (`geohashBoundingBox`).
    fn bounding_box(&self) -> [f64; 4] {
        let (height, width) = match self.kind {
            ShapeKind::Circle(r) => (self.conversion * r, self.conversion * r),
            ShapeKind::Rect(w, h) => (self.conversion * (h / 2.0), self.conversion * (w / 2.0)),
        };
        let lat_delta = rad_deg(height / EARTH_RADIUS_IN_METERS);
        let long_delta_top =
            rad_deg(width / EARTH_RADIUS_IN_METERS / deg_rad(self.lat + lat_delta).cos());
        let long_delta_bottom =
            rad_deg(width / EARTH_RADIUS_IN_METERS / deg_rad(self.lat - lat_delta).cos());
        let southern = self.lat < 0.0;
        let delta = if southern {
            long_delta_bottom
        } else {
            long_delta_top
        };
        [
            self.long - delta,
            self.lat - lat_delta,
            self.long + delta,
            self.lat + lat_delta,
        ]
    }
}

/// How many bits per coordinate a search of this radius needs (`geohashEstimateStepsByRadius`).
fn estimate_steps(mut range_meters: f64, lat: f64) -> u8 {
    if range_meters == 0.0 {
        return 26;
    }
    let mut step: i32 = 1;
    while range_meters < MERCATOR_MAX {
        range_meters *= 2.0;
        step += 1;
    }
    step -= 2;
    if !(-66.0..=66.0).contains(&lat) {
        step -= 1;
        if !(-80.0..=80.0).contains(&lat) {
            step -= 1;
        }
    }
    step.clamp(1, 26) as u8
}

/// The nine cells to visit, in Redis's order: centre, N, S, E, W, NE, NW, SE, SW, with the
/// useless ones zeroed (`geohashCalculateAreasByShapeWGS84`).
fn search_cells(shape: &Shape) -> [HashBits; 9] {
    let [min_lon, min_lat, max_lon, max_lat] = shape.bounding_box();
    let radius_meters = match shape.kind {
        ShapeKind::Circle(r) => r,
        ShapeKind::Rect(w, h) => ((w / 2.0) * (w / 2.0) + (h / 2.0) * (h / 2.0)).sqrt(),
    } * shape.conversion;
    let mut steps = estimate_steps(radius_meters, shape.lat);
    let at = |steps: u8| {
        let hash = encode_wgs84(shape.long, shape.lat, steps).unwrap_or(HashBits {
            bits: 0,
            step: steps,
        });
        (hash, neighbors(&hash), decode(hash))
    };
    let (mut hash, mut nb, mut area) = at(steps);
    // A cell next to the search area may be too small to cover it: use bigger cells then.
    let decrease = decode(nb.north).lat.max < max_lat
        || decode(nb.south).lat.min > min_lat
        || decode(nb.east).long.max < max_lon
        || decode(nb.west).long.min > min_lon;
    if steps > 1 && decrease {
        steps -= 1;
        (hash, nb, area) = at(steps);
    }
    if steps >= 2 {
        let zero = HashBits::default();
        if area.lat.min < min_lat {
            nb.south = zero;
            nb.south_west = zero;
            nb.south_east = zero;
        }
        if area.lat.max > max_lat {
            nb.north = zero;
            nb.north_east = zero;
            nb.north_west = zero;
        }
        if area.long.min < min_lon {
            nb.west = zero;
            nb.south_west = zero;
            nb.north_west = zero;
        }
        if area.long.max > max_lon {
            nb.east = zero;
            nb.south_east = zero;
            nb.north_east = zero;
        }
    }
    [
        hash,
        nb.north,
        nb.south,
        nb.east,
        nb.west,
        nb.north_east,
        nb.north_west,
        nb.south_east,
        nb.south_west,
    ]
}

/// A search hit.
#[derive(Debug, Clone)]
struct GeoPoint {
    long: f64,
    lat: f64,
    dist: f64,
    score: f64,
    member: Box<[u8]>,
}

/// Appends the members of `z` inside `shape` from every cell, in Redis's order, stopping once
/// `limit` (0: none) points were found (`membersOfAllNeighbors`).
fn members_in_shape(z: &ZSet, shape: &Shape, limit: usize) -> Vec<GeoPoint> {
    let cells = search_cells(shape);
    let mut found = Vec::new();
    let mut last_processed = 0usize;
    for (i, cell) in cells.iter().enumerate() {
        if cell.is_zero() {
            continue;
        }
        // Redis skips a cell equal to the last one visited (huge radii make neighbours
        // coincide); its check never compares against the centre cell, index 0.
        if last_processed != 0 && *cell == cells[last_processed] {
            continue;
        }
        if !found.is_empty() && limit > 0 && found.len() >= limit {
            break;
        }
        let min = cell.align52() as f64;
        let mut next = *cell;
        next.bits += 1;
        let max = next.align52() as f64;
        let range = ScoreRange {
            min,
            max,
            minex: false,
            maxex: true,
        };
        if let Some(first) = first_in_range(z, &range) {
            for (m, s) in z.iter_from(first, false) {
                if !range.lte_max(s, m) {
                    break;
                }
                let (x, y) = decode_score(s);
                if let Some(dist) = shape.contains(x, y) {
                    found.push(GeoPoint {
                        long: x,
                        lat: y,
                        dist,
                        score: s,
                        member: m.into(),
                    });
                }
                if !found.is_empty() && limit > 0 && found.len() >= limit {
                    break;
                }
            }
        }
        last_processed = i;
    }
    found
}

/// Puts the elements that belong at places `lrange..=rrange` there, in order, exactly as
/// Redis's `pqsort` does (NetBSD's Bentley-McIlroy quicksort that skips parts outside the
/// wanted places), so that elements comparing equal end up in Redis's order.
fn pqsort<T>(v: &mut [T], lrange: usize, rrange: usize, cmp: &impl Fn(&T, &T) -> Ordering) {
    let med3 = |v: &[T], a: usize, b: usize, c: usize| -> usize {
        if cmp(&v[a], &v[b]) == Ordering::Less {
            if cmp(&v[b], &v[c]) == Ordering::Less {
                b
            } else if cmp(&v[a], &v[c]) == Ordering::Less {
                c
            } else {
                a
            }
        } else if cmp(&v[b], &v[c]) == Ordering::Greater {
            b
        } else if cmp(&v[a], &v[c]) == Ordering::Less {
            a
        } else {
            c
        }
    };
    let vecswap = |v: &mut [T], a: usize, b: usize, n: usize| {
        for k in 0..n {
            v.swap(a + k, b + k);
        }
    };
    // A part whose places [s, e] lie wholly left or right of the wanted ones is left unsorted.
    let outside = |s: usize, e: usize| (lrange < s && rrange < s) || (lrange > e && rrange > e);
    // Parts still to sort, as (start, length). Redis recurses into the left part and loops on
    // the right one; the parts are disjoint, so an explicit stack gives the same result
    // without unbounded recursion.
    let mut todo = vec![(0usize, v.len())];
    while let Some((a, n)) = todo.pop() {
        if n < 7 {
            for pm in a + 1..a + n {
                let mut pl = pm;
                while pl > a && cmp(&v[pl - 1], &v[pl]) == Ordering::Greater {
                    v.swap(pl, pl - 1);
                    pl -= 1;
                }
            }
            continue;
        }
        let mut pm = a + n / 2;
        if n > 7 {
            let mut pl = a;
            let mut pn = a + n - 1;
            if n > 40 {
                let d = n / 8;
                pl = med3(v, pl, pl + d, pl + 2 * d);
                pm = med3(v, pm - d, pm, pm + d);
                pn = med3(v, pn - 2 * d, pn - d, pn);
            }
            pm = med3(v, pl, pm, pn);
        }
        v.swap(a, pm);
        let (mut pa, mut pb) = (a + 1, a + 1);
        let (mut pc, mut pd) = (a + n - 1, a + n - 1);
        loop {
            while pb <= pc {
                match cmp(&v[pb], &v[a]) {
                    Ordering::Greater => break,
                    Ordering::Equal => {
                        v.swap(pa, pb);
                        pa += 1;
                    }
                    Ordering::Less => {}
                }
                pb += 1;
            }
            while pb <= pc {
                match cmp(&v[pc], &v[a]) {
                    Ordering::Less => break,
                    Ordering::Equal => {
                        v.swap(pc, pd);
                        pd -= 1;
                    }
                    Ordering::Greater => {}
                }
                pc -= 1;
            }
            if pb > pc {
                break;
            }
            v.swap(pb, pc);
            pb += 1;
            pc -= 1;
        }
        let pn = a + n;
        let r = (pa - a).min(pb - pa);
        vecswap(v, a, pb - r, r);
        let r = (pd - pc).min(pn - pd - 1);
        vecswap(v, pb, pn - r, r);
        let left = pb - pa;
        if left > 1 && !outside(a, a + left - 1) {
            todo.push((a, left));
        }
        let right = pd - pc;
        if right > 1 && !outside(pn - right, pn - 1) {
            todo.push((pn - right, right));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Argument helpers.

/// Reads a longitude/latitude pair at `i`, replying Redis's error when it is not valid.
fn long_lat_arg(out: &mut Out, argv: &[Bytes], i: usize) -> Option<(f64, f64)> {
    let mut xy = [0.0; 2];
    for k in 0..2 {
        match parse_f64(&argv[i + k]) {
            Some(v) => xy[k] = v,
            None => {
                out.error(super::NOT_FLOAT);
                return None;
            }
        }
    }
    if xy[0] < GEO_LONG_MIN || xy[0] > GEO_LONG_MAX || xy[1] < GEO_LAT_MIN || xy[1] > GEO_LAT_MAX {
        out.error(&format!(
            "ERR invalid longitude,latitude pair {:.6},{:.6}",
            xy[0], xy[1]
        ));
        return None;
    }
    Some((xy[0], xy[1]))
}

/// Metres per unit (`extractUnitOrReply`).
fn unit_arg(out: &mut Out, unit: &[u8]) -> Option<f64> {
    let v = if eq_ic(unit, "m") {
        1.0
    } else if eq_ic(unit, "km") {
        1000.0
    } else if eq_ic(unit, "ft") {
        0.3048
    } else if eq_ic(unit, "mi") {
        1609.34
    } else {
        out.error("ERR unsupported unit provided. please use M, KM, FT, MI");
        return None;
    };
    Some(v)
}

/// `radius unit` at `i` (`extractDistanceOrReply`): (radius, metres per unit).
fn distance_arg(out: &mut Out, argv: &[Bytes], i: usize) -> Option<(f64, f64)> {
    let Some(d) = parse_f64(&argv[i]) else {
        out.error("ERR need numeric radius");
        return None;
    };
    if d < 0.0 {
        out.error("ERR radius cannot be negative");
        return None;
    }
    Some((d, unit_arg(out, &argv[i + 1])?))
}

/// `width height unit` at `i` (`extractBoxOrReply`): (width, height, metres per unit).
fn box_arg(out: &mut Out, argv: &[Bytes], i: usize) -> Option<(f64, f64, f64)> {
    let Some(w) = parse_f64(&argv[i]) else {
        out.error("ERR need numeric width");
        return None;
    };
    let Some(h) = parse_f64(&argv[i + 1]) else {
        out.error("ERR need numeric height");
        return None;
    };
    if h < 0.0 || w < 0.0 {
        out.error("ERR height or width cannot be negative");
        return None;
    }
    Some((w, h, unit_arg(out, &argv[i + 2])?))
}

/// A coordinate as Redis's `addReplyHumanLongDouble`: a bulk string in RESP2, a double in RESP3.
fn reply_coordinate(out: &mut Out, v: f64) {
    let text = format_human_double(v);
    if out.resp3() {
        out.raw(b",");
        out.raw(text.as_bytes());
        out.raw(b"\r\n");
    } else {
        out.bulk(text.as_bytes());
    }
}

/// A distance with four decimals, always a bulk string (`addReplyDoubleDistance`).
fn reply_distance(out: &mut Out, d: f64) {
    out.bulk(format!("{d:.4}").as_bytes());
}

// ---------------------------------------------------------------------------------------------
// Commands.

/// GEOADD key [NX|XX] [CH] longitude latitude member [longitude latitude member ...]
pub fn geoadd(ctx: &mut Ctx) {
    let argc = ctx.argv.len();
    let mut flags = ZaddFlags::default();
    let mut idx = 2;
    while idx < argc {
        let opt = ctx.arg(idx);
        if eq_ic(opt, "nx") {
            flags.nx = true;
        } else if eq_ic(opt, "xx") {
            flags.xx = true;
        } else if eq_ic(opt, "ch") {
            flags.ch = true;
        } else {
            break;
        }
        idx += 1;
    }
    // No triplet at all is ZADD's syntax error, which GEOADD hands its arguments to.
    if !(argc - idx).is_multiple_of(3) || (flags.xx && flags.nx) || argc == idx {
        return ctx.syntax_error();
    }
    let mut rewritten: Vec<Bytes> = Vec::with_capacity(idx + (argc - idx) / 3 * 2);
    rewritten.push(Bytes::from_static(b"zadd"));
    rewritten.extend(ctx.argv[1..idx].iter().cloned());
    let mut pairs = Vec::with_capacity((argc - idx) / 3);
    for j in (idx..argc).step_by(3) {
        let Some((long, lat)) = long_lat_arg(ctx.out, ctx.argv, j) else {
            return;
        };
        let bits = encode_wgs84(long, lat, GEO_STEP_MAX)
            .map(|h| h.align52())
            .unwrap_or(0);
        rewritten.push(Bytes::from(bits.to_string()));
        rewritten.push(ctx.argv[j + 2].clone());
        pairs.push((bits as f64, ctx.arg(j + 2)));
    }
    if zadd_apply(ctx, flags, &pairs) {
        // Redis runs GEOADD as the ZADD it rewrote it into, and propagates that.
        ctx.propagate_as(rewritten);
    }
}

/// GEOPOS key [member ...]
pub fn geopos(ctx: &mut Ctx) {
    let Ok(z) = zset_for_read(ctx.ks, ctx.out, ctx.db, ctx.arg(1)) else {
        return;
    };
    ctx.out.array(ctx.argv.len() - 2);
    for m in &ctx.argv[2..] {
        match z.and_then(|z| z.score(m)) {
            Some(score) => {
                let (x, y) = decode_score(score);
                ctx.out.array(2);
                reply_coordinate(ctx.out, x);
                reply_coordinate(ctx.out, y);
            }
            None => ctx.out.null_array(),
        }
    }
}

/// GEODIST key member1 member2 [M|KM|FT|MI]
pub fn geodist(ctx: &mut Ctx) {
    let mut to_meter = 1.0;
    match ctx.argv.len() {
        5 => match unit_arg(ctx.out, ctx.arg(4)) {
            Some(v) => to_meter = v,
            None => return,
        },
        n if n > 5 => return ctx.syntax_error(),
        _ => {}
    }
    let (m1, m2) = (ctx.arg(2), ctx.arg(3));
    let z = match zset_for_read(ctx.ks, ctx.out, ctx.db, ctx.arg(1)) {
        Ok(Some(z)) => z,
        Ok(None) => return ctx.out.null(),
        Err(()) => return,
    };
    match (z.score(m1), z.score(m2)) {
        (Some(a), Some(b)) => {
            let (x1, y1) = decode_score(a);
            let (x2, y2) = decode_score(b);
            reply_distance(ctx.out, distance(x1, y1, x2, y2) / to_meter);
        }
        _ => ctx.out.null(),
    }
}

/// GEOHASH key [member ...]
pub fn geohash(ctx: &mut Ctx) {
    const ALPHABET: &[u8; 32] = b"0123456789bcdefghjkmnpqrstuvwxyz";
    let Ok(z) = zset_for_read(ctx.ks, ctx.out, ctx.db, ctx.arg(1)) else {
        return;
    };
    ctx.out.array(ctx.argv.len() - 2);
    for m in &ctx.argv[2..] {
        let Some(score) = z.and_then(|z| z.score(m)) else {
            ctx.out.null();
            continue;
        };
        // Stored hashes use latitudes within ±85.05; the standard geohash uses ±90, so the
        // position is decoded and encoded again.
        let (x, y) = decode_score(score);
        let std_lat = Span {
            min: -90.0,
            max: 90.0,
        };
        let hash = encode(LONG_SPAN, std_lat, x, y, 26).unwrap_or_default();
        let mut buf = [0u8; 11];
        for (i, c) in buf.iter_mut().enumerate() {
            // 52 bits make ten characters; the eleventh is a zero for compatibility.
            let idx = if i == 10 {
                0
            } else {
                (hash.bits >> (52 - (i + 1) * 5)) & 0x1f
            };
            *c = ALPHABET[idx as usize];
        }
        ctx.out.bulk(&buf);
    }
}

/// How a search command was called (Redis's RADIUS_* / GEOSEARCH* flags).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct SearchKind {
    /// GEORADIUS[_RO]: centre given as coordinates.
    by_coords: bool,
    /// GEORADIUSBYMEMBER[_RO]: centre given as a member.
    by_member: bool,
    /// The _RO variants: no STORE/STOREDIST.
    no_store: bool,
    /// GEOSEARCH and GEOSEARCHSTORE.
    search: bool,
    /// GEOSEARCHSTORE.
    search_store: bool,
}

/// Sort order of search results.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sort {
    None,
    Asc,
    Desc,
}

/// Redis's `georadiusGeneric`: the source key is at `src_idx`.
fn georadius_generic(ctx: &mut Ctx, src_idx: usize, kind: SearchKind) {
    let db = ctx.db;
    let argv = ctx.argv;
    let argc = argv.len();
    let src = ctx.arg(src_idx);
    let exists = match zset_for_read(ctx.ks, ctx.out, db, src) {
        Ok(z) => z.is_some(),
        Err(()) => return,
    };
    let ks: &Keyspace = ctx.ks;
    let zobj: Option<&ZSet> = match ks.entry(db, src).map(|e| &e.value) {
        Some(Value::ZSet(z)) if exists => Some(z),
        _ => None,
    };
    let out = &mut *ctx.out;
    let member_pos = |z: &ZSet, m: &[u8]| z.score(m).map(decode_score);

    let mut store_key: Option<&[u8]> = None;
    let mut store_dist = false;
    let (mut long, mut lat) = (0.0, 0.0);
    let mut shape_kind: Option<ShapeKind> = None;
    let mut conversion = 1.0;
    let base_args;
    if kind.by_coords {
        base_args = 6;
        let Some((x, y)) = long_lat_arg(out, argv, 2) else {
            return;
        };
        let Some((r, c)) = distance_arg(out, argv, 4) else {
            return;
        };
        (long, lat, shape_kind, conversion) = (x, y, Some(ShapeKind::Circle(r)), c);
    } else if kind.by_member && zobj.is_none() {
        // No source: keep parsing to know whether the reply is 0 (STORE) or empty.
        base_args = 5;
    } else if kind.by_member {
        base_args = 5;
        let Some((x, y)) = zobj.and_then(|z| member_pos(z, &argv[2])) else {
            return out.error("ERR could not decode requested zset member");
        };
        let Some((r, c)) = distance_arg(out, argv, 3) else {
            return;
        };
        (long, lat, shape_kind, conversion) = (x, y, Some(ShapeKind::Circle(r)), c);
    } else {
        base_args = if kind.search_store { 3 } else { 2 };
        if kind.search_store {
            store_key = Some(&argv[1]);
        }
    }

    let (mut withdist, mut withhash, mut withcoord, mut any) = (false, false, false, false);
    let (mut frommember, mut fromloc, mut byradius, mut bybox) = (false, false, false, false);
    let mut sort = Sort::None;
    let mut count: i64 = 0;
    let remaining = argc.saturating_sub(base_args);
    let mut i = 0;
    while i < remaining {
        let arg = &argv[base_args + i][..];
        let at = base_args + i;
        if eq_ic(arg, "withdist") {
            withdist = true;
        } else if eq_ic(arg, "withhash") {
            withhash = true;
        } else if eq_ic(arg, "withcoord") {
            withcoord = true;
        } else if eq_ic(arg, "any") {
            any = true;
        } else if eq_ic(arg, "asc") {
            sort = Sort::Asc;
        } else if eq_ic(arg, "desc") {
            sort = Sort::Desc;
        } else if eq_ic(arg, "count") && i + 1 < remaining {
            let Some(c) = parse_i64(&argv[at + 1]) else {
                return out.error(NOT_INT);
            };
            if c <= 0 {
                return out.error("ERR COUNT must be > 0");
            }
            count = c;
            i += 1;
        } else if eq_ic(arg, "store") && i + 1 < remaining && !kind.no_store && !kind.search {
            store_key = Some(&argv[at + 1]);
            store_dist = false;
            i += 1;
        } else if eq_ic(arg, "storedist") && i + 1 < remaining && !kind.no_store && !kind.search {
            store_key = Some(&argv[at + 1]);
            store_dist = true;
            i += 1;
        } else if eq_ic(arg, "storedist") && kind.search && kind.search_store {
            store_dist = true;
        } else if eq_ic(arg, "frommember") && i + 1 < remaining && kind.search && !fromloc {
            if let Some(z) = zobj {
                let Some((x, y)) = member_pos(z, &argv[at + 1]) else {
                    return out.error("ERR could not decode requested zset member");
                };
                (long, lat) = (x, y);
            }
            frommember = true;
            i += 1;
        } else if eq_ic(arg, "fromlonlat") && i + 2 < remaining && kind.search && !frommember {
            let Some((x, y)) = long_lat_arg(out, argv, at + 1) else {
                return;
            };
            (long, lat) = (x, y);
            fromloc = true;
            i += 2;
        } else if eq_ic(arg, "byradius") && i + 2 < remaining && kind.search && !bybox {
            let Some((r, c)) = distance_arg(out, argv, at + 1) else {
                return;
            };
            (shape_kind, conversion) = (Some(ShapeKind::Circle(r)), c);
            byradius = true;
            i += 2;
        } else if eq_ic(arg, "bybox") && i + 3 < remaining && kind.search && !byradius {
            let Some((w, h, c)) = box_arg(out, argv, at + 1) else {
                return;
            };
            (shape_kind, conversion) = (Some(ShapeKind::Rect(w, h)), c);
            bybox = true;
            i += 3;
        } else {
            return out.error(SYNTAX);
        }
        i += 1;
    }
    if store_key.is_some() && (withdist || withhash || withcoord) {
        let what = if kind.search_store {
            "GEOSEARCHSTORE"
        } else {
            "STORE option in GEORADIUS"
        };
        return out.error(&format!(
            "ERR {what} is not compatible with WITHDIST, WITHHASH and WITHCOORD options"
        ));
    }
    let name = String::from_utf8_lossy(&argv[0]).into_owned();
    if kind.search && !(frommember || fromloc) {
        return out.error(&format!(
            "ERR exactly one of FROMMEMBER or FROMLONLAT can be specified for {name}"
        ));
    }
    if kind.search && !(byradius || bybox) {
        return out.error(&format!(
            "ERR exactly one of BYRADIUS and BYBOX can be specified for {name}"
        ));
    }
    if any && count == 0 {
        return out.error("ERR the ANY argument requires COUNT argument");
    }
    let Some(z) = zobj else {
        match store_key {
            Some(dst) => {
                out.int(0);
                if ctx.ks.remove(db, dst).is_some() {
                    ctx.ks.changed(db, dst, notify::GENERIC, "del");
                }
            }
            None => out.array(0),
        }
        return;
    };
    if count != 0 && sort == Sort::None && !any {
        sort = Sort::Asc;
    }
    let shape = Shape {
        long,
        lat,
        kind: shape_kind.unwrap_or(ShapeKind::Circle(0.0)),
        conversion,
    };
    let limit = if any { count as usize } else { 0 };
    let mut points = members_in_shape(z, &shape, limit);
    if points.is_empty() && store_key.is_none() {
        return out.array(0);
    }
    let total = points.len();
    let returned = if count == 0 || (total as i64) < count {
        total
    } else {
        count as usize
    };
    let asc = |a: &GeoPoint, b: &GeoPoint| a.dist.partial_cmp(&b.dist).unwrap_or(Ordering::Equal);
    match sort {
        Sort::None => {}
        Sort::Asc | Sort::Desc => {
            let cmp = |a: &GeoPoint, b: &GeoPoint| {
                if sort == Sort::Asc {
                    asc(a, b)
                } else {
                    asc(b, a)
                }
            };
            if returned == total {
                // glibc's qsort is a merge sort: stable, like sort_by.
                points.sort_by(cmp);
            } else {
                pqsort(&mut points, 0, returned - 1, &cmp);
            }
        }
    }
    points.truncate(returned);
    for p in &mut points {
        p.dist /= conversion;
    }
    let Some(dst) = store_key else {
        let options = withdist as usize + withhash as usize + withcoord as usize;
        if options == 0 {
            let items: Vec<(&[u8], f64)> =
                points.iter().map(|p| (&p.member[..], p.score)).collect();
            return reply_elements(out, &items, false);
        }
        out.array(points.len());
        for p in &points {
            out.array(options + 1);
            out.bulk(&p.member);
            if withdist {
                reply_distance(out, p.dist);
            }
            if withhash {
                out.int(c_double_to_i64(p.score));
            }
            if withcoord {
                out.array(2);
                reply_coordinate(out, p.long);
                reply_coordinate(out, p.lat);
            }
        }
        return;
    };
    let mut items: Vec<(Box<[u8]>, f64)> = points
        .into_iter()
        .map(|p| (p.member, if store_dist { p.dist } else { p.score }))
        .collect();
    items.sort_by(|a, b| cmp_entry(a.1, &a.0, b.1, &b.0));
    // A member found twice (Redis can visit the same cell twice on huge searches) is kept once.
    items.dedup_by(|a, b| a.0 == b.0);
    let n = items.len();
    if n > 0 {
        let limits = ctx.ks.limits;
        let stored = ZSet::from_sorted(items, &limits);
        ctx.ks.set(db, dst, Value::ZSet(Box::new(stored)), false);
        let event = if kind.search {
            "geosearchstore"
        } else {
            "georadiusstore"
        };
        ctx.ks.changed(db, dst, notify::ZSET, event);
        ctx.ks.dirty += returned as u64 - 1;
    } else if ctx.ks.remove(db, dst).is_some() {
        ctx.ks.changed(db, dst, notify::GENERIC, "del");
    }
    ctx.out.int(returned as i64);
}

const RADIUS_COORDS: SearchKind = SearchKind {
    by_coords: true,
    by_member: false,
    no_store: false,
    search: false,
    search_store: false,
};
const RADIUS_MEMBER: SearchKind = SearchKind {
    by_coords: false,
    by_member: true,
    no_store: false,
    search: false,
    search_store: false,
};
const GEOSEARCH: SearchKind = SearchKind {
    by_coords: false,
    by_member: false,
    no_store: false,
    search: true,
    search_store: false,
};

/// GEORADIUS key longitude latitude radius M|KM|FT|MI [WITHCOORD] [WITHDIST] [WITHHASH]
/// [COUNT count [ANY]] [ASC|DESC] [STORE key|STOREDIST key]
pub fn georadius(ctx: &mut Ctx) {
    georadius_generic(ctx, 1, RADIUS_COORDS);
}

/// GEORADIUS_RO key longitude latitude radius M|KM|FT|MI [WITHCOORD] [WITHDIST] [WITHHASH]
/// [COUNT count [ANY]] [ASC|DESC]
pub fn georadius_ro(ctx: &mut Ctx) {
    georadius_generic(
        ctx,
        1,
        SearchKind {
            no_store: true,
            ..RADIUS_COORDS
        },
    );
}

/// GEORADIUSBYMEMBER key member radius M|KM|FT|MI [...] [STORE key|STOREDIST key]
pub fn georadiusbymember(ctx: &mut Ctx) {
    georadius_generic(ctx, 1, RADIUS_MEMBER);
}

/// GEORADIUSBYMEMBER_RO key member radius M|KM|FT|MI [...]
pub fn georadiusbymember_ro(ctx: &mut Ctx) {
    georadius_generic(
        ctx,
        1,
        SearchKind {
            no_store: true,
            ..RADIUS_MEMBER
        },
    );
}

/// GEOSEARCH key FROMMEMBER member|FROMLONLAT longitude latitude BYRADIUS radius unit|BYBOX
/// width height unit [ASC|DESC] [COUNT count [ANY]] [WITHCOORD] [WITHDIST] [WITHHASH]
pub fn geosearch(ctx: &mut Ctx) {
    georadius_generic(ctx, 1, GEOSEARCH);
}

/// GEOSEARCHSTORE destination source FROMMEMBER member|FROMLONLAT longitude latitude
/// BYRADIUS radius unit|BYBOX width height unit [ASC|DESC] [COUNT count [ANY]] [STOREDIST]
pub fn geosearchstore(ctx: &mut Ctx) {
    georadius_generic(
        ctx,
        2,
        SearchKind {
            search_store: true,
            ..GEOSEARCH
        },
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use resp::Protocol;

    fn exec(
        ks: &mut Keyspace,
        proto: Protocol,
        f: fn(&mut Ctx),
        args: &[&str],
    ) -> (String, Option<Vec<Vec<Bytes>>>) {
        let argv: Vec<Bytes> = args
            .iter()
            .map(|a| Bytes::copy_from_slice(a.as_bytes()))
            .collect();
        let mut out = Out::new(proto);
        let mut ctx = Ctx::new(ks, 0, &mut out, &argv);
        f(&mut ctx);
        let propagate = ctx.propagate.take();
        (String::from_utf8_lossy(&out.buf).into_owned(), propagate)
    }

    fn run(ks: &mut Keyspace, f: fn(&mut Ctx), args: &[&str]) -> String {
        exec(ks, Protocol::Resp2, f, args).0
    }

    fn sicily() -> Keyspace {
        let mut ks = Keyspace::new(1);
        run(
            &mut ks,
            geoadd,
            &[
                "GEOADD",
                "g",
                "13.361389",
                "38.115556",
                "Palermo",
                "15.087269",
                "37.502669",
                "Catania",
            ],
        );
        ks
    }

    #[test]
    fn scores_are_52_bit_interleaved_geohashes() {
        let h = encode_wgs84(13.361389, 38.115556, GEO_STEP_MAX).unwrap();
        assert_eq!(h.align52(), 3479099956230698);
        assert_eq!(
            deinterleave64(interleave64(0xDEAD_BEEF, 0x1234_5678)),
            0x1234_5678_DEAD_BEEF
        );
        let (x, y) = decode_score(3479099956230698.0);
        assert_eq!(format_human_double(x), "13.36138933897018433");
        assert_eq!(format_human_double(y), "38.11555639549629859");
        // The corners decode clamped to the limits.
        let top = encode_wgs84(180.0, 85.05112878, GEO_STEP_MAX).unwrap();
        assert_eq!(decode_score(top.align52() as f64), (180.0, 85.05112878));
        assert!(encode_wgs84(180.1, 0.0, 26).is_none());
        // Non-geo scores convert as C does on x86-64.
        assert_eq!(c_double_to_u64(-5.0), u64::MAX - 4);
        assert_eq!(c_double_to_u64(1e20), 0);
        assert_eq!(c_double_to_u64(f64::INFINITY), 0);
        assert_eq!(c_double_to_u64(f64::NEG_INFINITY), 1 << 63);
        assert_eq!(c_double_to_u64(1.5e19), 15_000_000_000_000_000_000);
    }

    #[test]
    fn geoadd_runs_and_propagates_as_zadd() {
        let mut ks = Keyspace::new(1);
        ks.notify_flags = !0;
        let (reply, prop) = exec(
            &mut ks,
            Protocol::Resp2,
            geoadd,
            &["GEOADD", "g", "CH", "13.361389", "38.115556", "Palermo"],
        );
        assert_eq!(reply, ":1\r\n");
        let expected: Vec<Bytes> = ["zadd", "g", "CH", "3479099956230698", "Palermo"]
            .iter()
            .map(|s| Bytes::copy_from_slice(s.as_bytes()))
            .collect();
        assert_eq!(prop, Some(vec![expected]));
        assert_eq!(ks.notifications.last().map(|n| n.event), Some("zadd"));
        let (reply, prop) = exec(
            &mut ks,
            Protocol::Resp2,
            geoadd,
            &["GEOADD", "g", "13.361389", "38.115556", "Palermo"],
        );
        assert_eq!(
            (reply.as_str(), prop),
            (":0\r\n", None),
            "nothing changed, nothing propagated"
        );
        assert_eq!(
            run(&mut ks, geoadd, &["GEOADD", "g", "200", "100", "a"]),
            "-ERR invalid longitude,latitude pair 200.000000,100.000000\r\n"
        );
        assert_eq!(
            run(&mut ks, geoadd, &["GEOADD", "g", "NX", "XX", "1", "1", "a"]),
            "-ERR syntax error\r\n"
        );
        assert_eq!(
            run(&mut ks, geoadd, &["GEOADD", "g", "CH", "CH", "CH"]),
            "-ERR syntax error\r\n"
        );
        assert_eq!(
            run(&mut ks, geoadd, &["GEOADD", "g", "x", "1", "a"]),
            "-ERR value is not a valid float\r\n"
        );
        ks.set(0, b"s", Value::string(b"v"), false);
        assert_eq!(
            run(&mut ks, geoadd, &["GEOADD", "s", "1", "1", "a"]),
            format!("-{}\r\n", crate::keyspace::WRONGTYPE)
        );
    }

    #[test]
    fn positions_distances_and_hashes_print_as_redis() {
        let mut ks = sicily();
        assert_eq!(
            run(&mut ks, geopos, &["GEOPOS", "g", "Palermo", "nosuch"]),
            "*2\r\n*2\r\n$20\r\n13.36138933897018433\r\n$20\r\n38.11555639549629859\r\n*-1\r\n"
        );
        assert_eq!(
            exec(
                &mut ks,
                Protocol::Resp3,
                geopos,
                &["GEOPOS", "g", "Palermo", "nosuch"]
            )
            .0,
            "*2\r\n*2\r\n,13.36138933897018433\r\n,38.11555639549629859\r\n_\r\n"
        );
        assert_eq!(
            run(&mut ks, geodist, &["GEODIST", "g", "Palermo", "Catania"]),
            "$11\r\n166274.1516\r\n"
        );
        assert_eq!(
            run(
                &mut ks,
                geodist,
                &["GEODIST", "g", "Palermo", "Catania", "km"]
            ),
            "$8\r\n166.2742\r\n"
        );
        assert_eq!(
            run(&mut ks, geodist, &["GEODIST", "g", "Palermo", "x"]),
            "$-1\r\n"
        );
        assert_eq!(
            run(&mut ks, geodist, &["GEODIST", "g", "a", "b", "foo"]),
            "-ERR unsupported unit provided. please use M, KM, FT, MI\r\n"
        );
        assert_eq!(
            run(&mut ks, geodist, &["GEODIST", "g", "a", "b", "km", "x"]),
            "-ERR syntax error\r\n"
        );
        assert_eq!(
            run(
                &mut ks,
                geohash,
                &["GEOHASH", "g", "Palermo", "Catania", "x"]
            ),
            "*3\r\n$11\r\nsqc8b49rny0\r\n$11\r\nsqdtr74hyu0\r\n$-1\r\n"
        );
        assert_eq!(
            run(&mut ks, geohash, &["GEOHASH", "nokey", "a"]),
            "*1\r\n$-1\r\n"
        );
    }

    #[test]
    fn searches_reply_and_store_as_redis() {
        let mut ks = sicily();
        assert_eq!(
            run(&mut ks, georadius, &["GEORADIUS", "g", "15", "37", "200", "km", "WITHDIST", "WITHCOORD", "WITHHASH"]),
            "*2\r\n*4\r\n$7\r\nPalermo\r\n$8\r\n190.4424\r\n:3479099956230698\r\n*2\r\n$20\r\n13.36138933897018433\r\n\
             $20\r\n38.11555639549629859\r\n*4\r\n$7\r\nCatania\r\n$7\r\n56.4413\r\n:3479447370796909\r\n*2\r\n\
             $20\r\n15.08726745843887329\r\n$20\r\n37.50266842333162032\r\n"
        );
        assert_eq!(
            run(
                &mut ks,
                geosearch,
                &[
                    "GEOSEARCH",
                    "g",
                    "FROMMEMBER",
                    "Palermo",
                    "BYBOX",
                    "400",
                    "400",
                    "km",
                    "DESC"
                ]
            ),
            "*2\r\n$7\r\nCatania\r\n$7\r\nPalermo\r\n"
        );
        assert_eq!(
            run(
                &mut ks,
                geosearch,
                &["GEOSEARCH", "g", "FROMLONLAT", "15", "37"]
            ),
            "-ERR exactly one of BYRADIUS and BYBOX can be specified for GEOSEARCH\r\n"
        );
        assert_eq!(
            run(&mut ks, georadius, &["GEORADIUS", "g", "15", "37", "200", "km", "STORE", "d", "WITHDIST"]),
            "-ERR STORE option in GEORADIUS is not compatible with WITHDIST, WITHHASH and WITHCOORD options\r\n"
        );
        assert_eq!(
            run(
                &mut ks,
                georadius_ro,
                &["GEORADIUS_RO", "g", "15", "37", "200", "km", "STORE", "d"]
            ),
            "-ERR syntax error\r\n"
        );
        assert_eq!(
            run(
                &mut ks,
                georadiusbymember,
                &["GEORADIUSBYMEMBER", "g", "nosuch", "1", "km"]
            ),
            "-ERR could not decode requested zset member\r\n"
        );
        assert_eq!(
            run(
                &mut ks,
                georadius,
                &["GEORADIUS", "g", "15", "37", "200", "km", "ANY"]
            ),
            "-ERR the ANY argument requires COUNT argument\r\n"
        );
        ks.notify_flags = !0;
        assert_eq!(
            run(
                &mut ks,
                geosearchstore,
                &[
                    "GEOSEARCHSTORE",
                    "d",
                    "g",
                    "FROMLONLAT",
                    "15",
                    "37",
                    "BYRADIUS",
                    "200",
                    "km",
                    "STOREDIST"
                ]
            ),
            ":2\r\n"
        );
        assert_eq!(
            run(&mut ks, super::super::zset::zrange, &["ZRANGE", "d", "0", "-1", "WITHSCORES"]),
            "*4\r\n$7\r\nCatania\r\n$18\r\n56.441257870158204\r\n$7\r\nPalermo\r\n$18\r\n190.44242984775784\r\n"
        );
        assert_eq!(ks.entry(0, b"d").unwrap().value.encoding(), "listpack");
        assert_eq!(
            run(
                &mut ks,
                georadius,
                &["GEORADIUS", "nokey", "15", "37", "1", "km", "STORE", "d"]
            ),
            ":0\r\n"
        );
        let events: Vec<&str> = ks
            .notifications
            .iter()
            .map(|n| n.event)
            .filter(|e| *e != "keymiss")
            .collect();
        assert_eq!(events, vec!["new", "geosearchstore", "del"]);
        assert!(ks.entry(0, b"d").is_none());
    }

    proptest! {
        #[test]
        fn pqsort_sorts_the_requested_prefix(mut v in proptest::collection::vec(0u8..20, 0..120), k in 1usize..130) {
            let k = k.min(v.len().max(1));
            let mut sorted = v.clone();
            sorted.sort();
            if !v.is_empty() {
                pqsort(&mut v, 0, k - 1, &|a: &u8, b: &u8| a.cmp(b));
                prop_assert_eq!(&v[..k], &sorted[..k]);
            }
        }
    }
}

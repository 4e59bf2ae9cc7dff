//! Pictures of a sweep: per-metric line charts over the first axis and, for 2-axis sweeps,
//! per-metric heatmaps. Everything is drawn with plotters' pure-Rust backends and an embedded
//! font, so rendering needs no system libraries (fontconfig/freetype).

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use plotters::coord::ranged1d::{KeyPointHint, NoDefaultFormatting, Ranged, ValueFormatter};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::{register_font, FontStyle};

use super::axis::leaf_of;
use super::result::Stat;

/// DejaVu Sans (harness/assets/, its licence beside it), compiled in: PNG text
/// then needs no font on the machine that draws it.
const FONT_BYTES: &[u8] = include_bytes!("../../assets/DejaVuSans.ttf");
/// The family name plotters asks for by default (mesh labels), so we register under it.
const FONT: &str = "sans-serif";

const PANEL_W: u32 = 400;
const PANEL_H: u32 = 300;
const MAX_COLS: usize = 3;
const TITLE_H: u32 = 36;
const LEGEND_ROW_H: u32 = 20;
const LABEL_PX: u32 = 12;

/// Tableau 10: distinct, colour-blind-friendlier than plotters' default palette.
const SERIES_COLORS: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

/// Viridis stops: perceptually uniform and readable in greyscale.
const VIRIDIS: [(u8, u8, u8); 5] = [(68, 1, 84), (59, 82, 139), (33, 145, 140), (94, 201, 98), (253, 231, 37)];

/// One varied setting; labels are categorical and drawn in the order given.
pub struct Axis {
    pub path: String,
    pub labels: Vec<String>,
}

pub struct Metric {
    /// e.g. "redelivered", "detect (s)"
    pub name: String,
}

pub struct Point {
    /// Index into each axis's labels, one per axis.
    pub coords: Vec<usize>,
    /// One per metric; `None` = no value at this point (e.g. no recovery).
    pub values: Vec<Option<Stat>>,
}

pub struct PlotData<'a> {
    pub title: &'a str,
    pub axes: &'a [Axis],
    pub metrics: &'a [Metric],
    pub points: &'a [Point],
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlotError(pub String);

impl fmt::Display for PlotError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "plot: {}", self.0)
    }
}

impl std::error::Error for PlotError {}

/// Writes the pictures into `dir` (created if missing) and returns their paths:
/// `lines.svg`/`lines.png` always, `heatmap.svg`/`heatmap.png` when there are exactly 2 axes.
pub fn write(dir: &Path, data: &PlotData) -> Result<Vec<PathBuf>, PlotError> {
    validate(data)?;
    ensure_font()?;
    std::fs::create_dir_all(dir).map_err(|e| PlotError(format!("creating {}: {e}", dir.display())))?;
    let mut out = render(dir, "lines", &Lines::new(data))?.to_vec();
    if data.axes.len() == 2 {
        out.extend(render(dir, "heatmap", &Heatmap { data })?);
    }
    Ok(out)
}

/// Rejects malformed input up front so drawing code can index without surprises.
fn validate(data: &PlotData) -> Result<(), PlotError> {
    if data.axes.is_empty() {
        return Err(PlotError("no axes to plot".into()));
    }
    if let Some(a) = data.axes.iter().find(|a| a.labels.is_empty()) {
        return Err(PlotError(format!("axis `{}` has no values", a.path)));
    }
    if data.metrics.is_empty() {
        return Err(PlotError("no metrics to plot".into()));
    }
    for p in data.points {
        if p.coords.len() != data.axes.len() {
            return Err(PlotError(format!(
                "point {:?} has {} coords for {} axes",
                p.coords,
                p.coords.len(),
                data.axes.len()
            )));
        }
        if let Some((i, _)) = p.coords.iter().zip(data.axes).enumerate().find(|(_, (&c, a))| c >= a.labels.len()) {
            return Err(PlotError(format!(
                "point {:?}: coord {i} out of range for axis `{}`",
                p.coords, data.axes[i].path
            )));
        }
        if p.values.len() != data.metrics.len() {
            return Err(PlotError(format!(
                "point {:?} has {} values for {} metrics",
                p.coords,
                p.values.len(),
                data.metrics.len()
            )));
        }
    }
    Ok(())
}

/// Registers the embedded font once per process; later calls return the first outcome.
fn ensure_font() -> Result<(), PlotError> {
    static REGISTERED: OnceLock<Result<(), String>> = OnceLock::new();
    REGISTERED
        .get_or_init(|| {
            register_font(FONT, FontStyle::Normal, FONT_BYTES)
                .map_err(|_| "embedded font is not a valid TTF".to_string())
        })
        .clone()
        .map_err(PlotError)
}

fn draw_err(e: impl fmt::Display) -> PlotError {
    PlotError(format!("drawing failed: {e}"))
}

/// A picture that can be drawn on any backend, so SVG and PNG share one drawing routine.
trait Figure {
    fn size(&self) -> (u32, u32);
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), PlotError>;
}

fn render(dir: &Path, stem: &str, fig: &impl Figure) -> Result<[PathBuf; 2], PlotError> {
    let svg = dir.join(format!("{stem}.svg"));
    let root = SVGBackend::new(&svg, fig.size()).into_drawing_area();
    fig.draw(&root)?;
    root.present().map_err(|e| PlotError(format!("writing {}: {e}", svg.display())))?;
    drop(root);

    let png = dir.join(format!("{stem}.png"));
    let root = BitMapBackend::new(&png, fig.size()).into_drawing_area();
    fig.draw(&root)?;
    root.present().map_err(|e| PlotError(format!("writing {}: {e}", png.display())))?;
    drop(root);
    Ok([svg, png])
}

/// Categorical axis: label `i` sits at `i as f64`, cells span ±0.5, so series can be dodged
/// sideways by fractions and heatmap cells are plain rectangles.
struct Categories {
    labels: Vec<String>,
}

impl Ranged for Categories {
    type FormatOption = NoDefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, (lo, hi): (i32, i32)) -> i32 {
        let t = (value + 0.5) / self.labels.len() as f64;
        (f64::from(lo) + t * f64::from(hi - lo)).round() as i32
    }

    fn key_points<H: KeyPointHint>(&self, hint: H) -> Vec<f64> {
        let step = self.labels.len().div_ceil(hint.max_num_points().max(1)).max(1);
        (0..self.labels.len()).step_by(step).map(|i| i as f64).collect()
    }

    fn range(&self) -> Range<f64> {
        -0.5..self.labels.len() as f64 - 0.5
    }
}

impl ValueFormatter<f64> for Categories {
    fn format_ext(&self, value: &f64) -> String {
        let i = value.round();
        if i < 0.0 {
            return String::new();
        }
        self.labels.get(i as usize).cloned().unwrap_or_default()
    }
}

/// Line charts: one panel per metric, one series per combination of the non-first axes.
struct Lines<'a> {
    data: &'a PlotData<'a>,
    series: Vec<Series<'a>>,
    legend: Legend,
}

struct Series<'a> {
    label: String,
    /// x index → point; a BTreeMap keeps x order and drops duplicates (last wins).
    points: BTreeMap<usize, &'a Point>,
}

impl<'a> Lines<'a> {
    fn new(data: &'a PlotData<'a>) -> Self {
        let mut by_rest: BTreeMap<&[usize], BTreeMap<usize, &Point>> = BTreeMap::new();
        for p in data.points {
            if let Some((&x, rest)) = p.coords.split_first() {
                by_rest.entry(rest).or_default().insert(x, p);
            }
        }
        let series: Vec<Series> = by_rest
            .into_iter()
            .map(|(rest, points)| {
                let label = rest
                    .iter()
                    .zip(&data.axes[1..])
                    .map(|(&i, a)| format!("{}={}", leaf_of(&a.path), a.labels.get(i).map_or("?", String::as_str)))
                    .collect::<Vec<_>>()
                    .join(", ");
                Series { label, points }
            })
            .collect();
        let labels: Vec<&str> =
            if data.axes.len() > 1 { series.iter().map(|s| s.label.as_str()).collect() } else { vec![] };
        let legend = Legend::layout(&labels, grid_width(data.metrics.len()));
        Lines { data, series, legend }
    }

    fn panel<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>, m: usize) -> Result<(), PlotError> {
        let name = &self.data.metrics[m].name;
        let per_series: Vec<Vec<(usize, Stat)>> = self
            .series
            .iter()
            .map(|s| s.points.iter().filter_map(|(&x, p)| stat(p, m).map(|st| (x, st))).collect())
            .collect();
        let all = per_series.iter().flatten().map(|(_, s)| s);
        let (Some(lo), Some(hi)) = (all.clone().map(|s| s.min).reduce(f64::min), all.map(|s| s.max).reduce(f64::max))
        else {
            return empty_panel(area, name);
        };
        let (y0, y1) = padded(lo, hi);
        let x_axis = &self.data.axes[0];
        let y_area = (text_width(&fmt_tick(y0), LABEL_PX).max(text_width(&fmt_tick(y1), LABEL_PX)) + 16).clamp(40, 100);
        let slot = (PANEL_W.saturating_sub(y_area + 20)) / x_axis.labels.len() as u32;
        let xs = Categories {
            labels: x_axis.labels.iter().map(|l| fit(l, LABEL_PX, slot.saturating_sub(4), false)).collect(),
        };

        let mut chart = ChartBuilder::on(area)
            .caption(fit(name, 15, PANEL_W - 10, false), (FONT, 15))
            .margin(8)
            .margin_right(14)
            .x_label_area_size(42)
            .y_label_area_size(y_area)
            .build_cartesian_2d(xs, y0..y1)
            .map_err(draw_err)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .y_max_light_lines(1)
            .x_labels(x_axis.labels.len())
            .y_labels(6)
            .y_label_formatter(&|v| fmt_tick(*v))
            .x_desc(fit(&x_axis.path, LABEL_PX, PANEL_W - y_area - 30, true))
            .label_style((FONT, LABEL_PX))
            .axis_desc_style((FONT, LABEL_PX))
            .draw()
            .map_err(draw_err)?;

        let n = per_series.len();
        for (k, pts) in per_series.iter().enumerate() {
            let color = SERIES_COLORS[k % SERIES_COLORS.len()];
            // Dodge series sideways so whiskers at the same x stay distinguishable.
            let dx = if n > 1 { (k as f64 / (n - 1) as f64 - 0.5) * 0.3 } else { 0.0 };
            let at = |x: usize| x as f64 + dx;
            for run in runs(pts) {
                chart
                    .draw_series(LineSeries::new(run.iter().map(|&(x, s)| (at(x), s.median)), color.stroke_width(2)))
                    .map_err(draw_err)?;
            }
            let whiskers = pts.iter().filter(|(_, s)| s.max > s.min).flat_map(|&(x, s)| {
                let cap = |y| PathElement::new(vec![(at(x) - 0.04, y), (at(x) + 0.04, y)], color.stroke_width(1));
                [PathElement::new(vec![(at(x), s.min), (at(x), s.max)], color.stroke_width(1)), cap(s.min), cap(s.max)]
            });
            chart.draw_series(whiskers).map_err(draw_err)?;
            chart
                .draw_series(pts.iter().map(|&(x, s)| Circle::new((at(x), s.median), 3, color.filled())))
                .map_err(draw_err)?;
        }
        Ok(())
    }
}

impl Figure for Lines<'_> {
    fn size(&self) -> (u32, u32) {
        let (w, h) = grid_size(self.data.metrics.len());
        (w, h + self.legend.height)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), PlotError> {
        let body = draw_frame(root, self.data.title)?;
        let (legend, panels) = body.split_vertically(self.legend.height);
        self.legend.draw(&legend, &self.series)?;
        for (m, area) in panel_areas(&panels, self.data.metrics.len()).iter().enumerate() {
            self.panel(area, m)?;
        }
        Ok(())
    }
}

/// Shared legend above the panels: series are the same in every panel, so one legend is enough
/// and it never covers data.
struct Legend {
    /// Top-left of each entry, relative to the legend area.
    slots: Vec<(i32, i32)>,
    height: u32,
}

impl Legend {
    const SAMPLE_W: i32 = 26;

    fn layout(labels: &[&str], width: u32) -> Self {
        let (mut x, mut y, mut slots) = (10i32, 0i32, Vec::new());
        let max_x = width as i32 - 10;
        for l in labels {
            let w = Self::SAMPLE_W + 6 + text_width(l, LABEL_PX) as i32 + 18;
            if x > 10 && x + w > max_x {
                x = 10;
                y += LEGEND_ROW_H as i32;
            }
            slots.push((x, y));
            x += w;
        }
        let height = if slots.is_empty() { 0 } else { y as u32 + LEGEND_ROW_H + 6 };
        Legend { slots, height }
    }

    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>, series: &[Series]) -> Result<(), PlotError> {
        let style = TextStyle::from((FONT, LABEL_PX).into_font()).pos(Pos::new(HPos::Left, VPos::Center));
        for (k, (&(x, y), s)) in self.slots.iter().zip(series).enumerate() {
            let color = SERIES_COLORS[k % SERIES_COLORS.len()];
            let mid = y + LEGEND_ROW_H as i32 / 2;
            area.draw(&PathElement::new(vec![(x, mid), (x + Self::SAMPLE_W, mid)], color.stroke_width(2)))
                .map_err(draw_err)?;
            area.draw(&Circle::new((x + Self::SAMPLE_W / 2, mid), 3, color.filled())).map_err(draw_err)?;
            area.draw_text(&s.label, &style, (x + Self::SAMPLE_W + 6, mid)).map_err(draw_err)?;
        }
        Ok(())
    }
}

/// Heatmaps for 2-axis sweeps: x = axis 0, y = axis 1, cells coloured by median per panel.
struct Heatmap<'a> {
    data: &'a PlotData<'a>,
}

impl Heatmap<'_> {
    fn panel<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>, m: usize) -> Result<(), PlotError> {
        let name = &self.data.metrics[m].name;
        let (ax, ay) = (&self.data.axes[0], &self.data.axes[1]);
        let mut cells: BTreeMap<(usize, usize), Option<f64>> = BTreeMap::new();
        for p in self.data.points {
            if let [x, y] = p.coords[..] {
                cells.insert((x, y), stat(p, m).map(|s| s.median));
            }
        }
        let medians = cells.values().flatten().copied();
        let (Some(lo), Some(hi)) = (medians.clone().reduce(f64::min), medians.reduce(f64::max)) else {
            return empty_panel(area, name);
        };

        let y_label_w = ay.labels.iter().map(|l| text_width(l, LABEL_PX)).max().unwrap_or(0).min(90);
        let y_area = y_label_w + 30;
        let plot_w = PANEL_W.saturating_sub(y_area + 22);
        let plot_h = PANEL_H.saturating_sub(42 + 30 + 16);
        let (nx, ny) = (ax.labels.len() as u32, ay.labels.len() as u32);
        let (cell_w, cell_h) = (plot_w / nx, plot_h / ny);
        let xs = Categories {
            labels: ax.labels.iter().map(|l| fit(l, LABEL_PX, cell_w.saturating_sub(4), false)).collect(),
        };
        let ys = Categories { labels: ay.labels.iter().map(|l| fit(l, LABEL_PX, 90, false)).collect() };
        let scale = if hi > lo { format!("{}–{}", fmt_value(lo), fmt_value(hi)) } else { fmt_value(lo) };
        // Shorten the name, never the scale: the scale is what makes the colours readable.
        let suffix = format!(" (median, {scale})");
        let caption = fit(name, 15, (PANEL_W - 10).saturating_sub(text_width(&suffix, 15)), false) + &suffix;

        let mut chart = ChartBuilder::on(area)
            .caption(caption, (FONT, 15))
            .margin(8)
            .margin_right(14)
            .x_label_area_size(42)
            .y_label_area_size(y_area)
            .build_cartesian_2d(xs, ys)
            .map_err(draw_err)?;
        chart
            .configure_mesh()
            .disable_mesh()
            .x_labels(nx as usize)
            .y_labels(ny as usize)
            .x_desc(fit(&ax.path, LABEL_PX, plot_w, true))
            .y_desc(fit(&ay.path, LABEL_PX, plot_h, true))
            .label_style((FONT, LABEL_PX))
            .axis_desc_style((FONT, LABEL_PX))
            .draw()
            .map_err(draw_err)?;

        let center = Pos::new(HPos::Center, VPos::Center);
        for x in 0..ax.labels.len() {
            for y in 0..ay.labels.len() {
                let median = cells.get(&(x, y)).copied().flatten();
                let (fill, ink, text) = match median {
                    Some(v) => {
                        let t = if hi > lo { (v - lo) / (hi - lo) } else { 0.5 };
                        let fill = viridis(t);
                        (fill, contrast(fill), fmt_value(v))
                    }
                    None => (RGBColor(235, 235, 235), RGBColor(110, 110, 110), "–".to_string()),
                };
                let (fx, fy) = (x as f64, y as f64);
                chart
                    .draw_series([Rectangle::new([(fx - 0.5, fy - 0.5), (fx + 0.5, fy + 0.5)], fill.filled())])
                    .map_err(draw_err)?;
                let size = fit_size(&text, 13, cell_w.saturating_sub(6), cell_h.saturating_sub(4));
                let style = TextStyle::from((FONT, size).into_font()).color(&ink).pos(center);
                chart.draw_series([Text::new(text, (fx, fy), style)]).map_err(draw_err)?;
            }
        }
        Ok(())
    }
}

impl Figure for Heatmap<'_> {
    fn size(&self) -> (u32, u32) {
        grid_size(self.data.metrics.len())
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), PlotError> {
        let body = draw_frame(root, self.data.title)?;
        for (m, area) in panel_areas(&body, self.data.metrics.len()).iter().enumerate() {
            self.panel(area, m)?;
        }
        Ok(())
    }
}

fn grid_dims(panels: usize) -> (usize, usize) {
    let cols = panels.clamp(1, MAX_COLS);
    (panels.div_ceil(cols).max(1), cols)
}

fn grid_width(panels: usize) -> u32 {
    grid_dims(panels).1 as u32 * PANEL_W
}

/// Image size without any legend: title strip plus the panel grid.
fn grid_size(panels: usize) -> (u32, u32) {
    let (rows, _) = grid_dims(panels);
    (grid_width(panels), TITLE_H + rows as u32 * PANEL_H)
}

fn panel_areas<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, panels: usize) -> Vec<DrawingArea<DB, Shift>> {
    let mut areas = area.split_evenly(grid_dims(panels));
    areas.truncate(panels);
    areas
}

/// White background and the image title; returns the area below the title.
fn draw_frame<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
) -> Result<DrawingArea<DB, Shift>, PlotError> {
    root.fill(&WHITE).map_err(draw_err)?;
    let (w, _) = root.dim_in_pixel();
    let style = TextStyle::from((FONT, 20).into_font()).pos(Pos::new(HPos::Center, VPos::Center));
    root.draw_text(&fit(title, 20, w.saturating_sub(20), false), &style, (w as i32 / 2, TITLE_H as i32 / 2))
        .map_err(draw_err)?;
    Ok(root.split_vertically(TITLE_H).1)
}

/// A panel for a metric without any value, so the grid keeps its shape and says why.
fn empty_panel<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, name: &str) -> Result<(), PlotError> {
    // Same margins as the chart panels so captions line up across a row.
    let inner = area.margin(8, 8, 8, 14).titled(&fit(name, 15, PANEL_W - 10, false), (FONT, 15)).map_err(draw_err)?;
    let (w, h) = inner.dim_in_pixel();
    let style = TextStyle::from((FONT, 14).into_font())
        .color(&RGBColor(120, 120, 120))
        .pos(Pos::new(HPos::Center, VPos::Center));
    inner.draw_text("no values", &style, (w as i32 / 2, h as i32 / 2)).map_err(draw_err)?;
    Ok(())
}

/// The metric's stat at a point, ignoring non-finite numbers that plotters cannot place.
fn stat(p: &Point, m: usize) -> Option<Stat> {
    p.values.get(m).copied().flatten().filter(|s| s.min.is_finite() && s.median.is_finite() && s.max.is_finite())
}

/// Splits x-sorted points into runs of consecutive x, so lines break over gaps.
fn runs(pts: &[(usize, Stat)]) -> Vec<&[(usize, Stat)]> {
    let mut out = Vec::new();
    let mut start = 0;
    for i in 1..=pts.len() {
        if i == pts.len() || pts[i].0 != pts[i - 1].0 + 1 {
            out.push(&pts[start..i]);
            start = i;
        }
    }
    out
}

/// Y range with headroom; a zero-width range gets an artificial span so plotters can scale it.
fn padded(lo: f64, hi: f64) -> (f64, f64) {
    let span = hi - lo;
    let pad = if span > 0.0 { span * 0.08 } else { (lo.abs() * 0.1).max(1.0) };
    let y0 = if lo >= 0.0 && lo - pad < 0.0 { 0.0 } else { lo - pad };
    (y0, hi + pad)
}

/// Cell values: integers without decimals, else one decimal.
fn fmt_value(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{:.0}", v + 0.0)
    } else {
        format!("{v:.1}")
    }
}

/// Axis ticks: plotters picks round numbers, so trimming trailing zeros gives short labels.
fn fmt_tick(v: f64) -> String {
    if (v - v.round()).abs() < 1e-9 * v.abs().max(1.0) {
        return format!("{:.0}", v.round() + 0.0);
    }
    let s = format!("{v:.3}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// Text width in pixels with the embedded font; a rough guess if measuring fails.
fn text_width(text: &str, size: u32) -> u32 {
    (FONT, size).into_font().box_size(text).map_or(text.chars().count() as u32 * size * 3 / 5, |(w, _)| w)
}

/// Shortens `text` with an ellipsis until it fits `max_w` pixels, keeping the end when
/// `keep_end` (paths: the last segment is the informative part).
fn fit(text: &str, size: u32, max_w: u32, keep_end: bool) -> String {
    if text_width(text, size) <= max_w {
        return text.to_string();
    }
    let chars: Vec<char> = text.chars().collect();
    for keep in (1..chars.len()).rev() {
        let s: String = if keep_end {
            std::iter::once('…').chain(chars[chars.len() - keep..].iter().copied()).collect()
        } else {
            chars[..keep].iter().copied().chain(std::iter::once('…')).collect()
        };
        if text_width(&s, size) <= max_w {
            return s;
        }
    }
    "…".to_string()
}

/// Largest font size up to `start` at which `text` fits the box (never below 7 px).
fn fit_size(text: &str, start: u32, max_w: u32, max_h: u32) -> u32 {
    (7..=start).rev().find(|&s| text_width(text, s) <= max_w && s <= max_h).unwrap_or(7)
}

fn viridis(t: f64) -> RGBColor {
    let t = t.clamp(0.0, 1.0) * (VIRIDIS.len() - 1) as f64;
    let i = (t.floor() as usize).min(VIRIDIS.len() - 2);
    let f = t - i as f64;
    let (a, b) = (VIRIDIS[i], VIRIDIS[i + 1]);
    let mix = |x: u8, y: u8| (f64::from(x) + (f64::from(y) - f64::from(x)) * f).round() as u8;
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

/// Black or white, whichever reads better on `bg`.
fn contrast(bg: RGBColor) -> RGBColor {
    let l = 0.299 * f64::from(bg.0) + 0.587 * f64::from(bg.1) + 0.114 * f64::from(bg.2);
    if l > 140.0 {
        BLACK
    } else {
        WHITE
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PNG_MAGIC: &[u8] = b"\x89PNG\r\n\x1a\n";

    fn stat(v: f64) -> Option<Stat> {
        Some(Stat { n: 2, min: v * 0.8, median: v, max: v * 1.3 })
    }

    fn axis(path: &str, labels: &[&str]) -> Axis {
        Axis { path: path.into(), labels: labels.iter().map(|s| s.to_string()).collect() }
    }

    fn metrics(names: &[&str]) -> Vec<Metric> {
        names.iter().map(|n| Metric { name: n.to_string() }).collect()
    }

    fn check(paths: &[PathBuf], labels: &[&str]) {
        for p in paths {
            let bytes = std::fs::read(p).unwrap();
            assert!(bytes.len() > 2000, "{} is only {} bytes", p.display(), bytes.len());
            match p.extension().and_then(|e| e.to_str()) {
                Some("png") => assert!(bytes.starts_with(PNG_MAGIC), "{} is not a PNG", p.display()),
                Some("svg") => {
                    let svg = String::from_utf8(bytes).unwrap();
                    // Contents of the <text> elements, which the SVG backend writes on their own lines.
                    let texts: Vec<&str> = svg
                        .split("<text")
                        .skip(1)
                        .filter_map(|t| Some(t.split_once('>')?.1.split_once("</text>")?.0.trim()))
                        .collect();
                    for l in labels {
                        assert!(texts.contains(l), "{} lacks label {l}: {texts:?}", p.display());
                    }
                }
                other => panic!("unexpected file type {other:?}"),
            }
        }
    }

    #[test]
    fn one_axis_with_an_all_none_metric() {
        let dir = tempfile::tempdir().unwrap();
        let axes = [axis("fault[0].duration", &["3s", "7s", "15s"])];
        let metrics = metrics(&["redelivered", "detect (s)"]);
        let points: Vec<Point> =
            (0..3).map(|i| Point { coords: vec![i], values: vec![stat(100.0 * (i + 1) as f64), None] }).collect();
        let data = PlotData { title: "one axis", axes: &axes, metrics: &metrics, points: &points };
        let paths = write(dir.path(), &data).unwrap();
        let names: Vec<_> = paths.iter().filter_map(|p| p.file_name()?.to_str()).collect();
        assert_eq!(names, ["lines.svg", "lines.png"]);
        check(&paths, &["3s", "7s", "15s", "fault[0].duration", "no values"]);
    }

    #[test]
    fn two_axes_three_by_two() {
        let dir = tempfile::tempdir().unwrap();
        let axes = [
            axis("fault[0].duration", &["3s", "7s", "15s"]),
            axis("group[0].properties.\"session.timeout.ms\"", &["6000", "10000"]),
        ];
        let metrics = metrics(&["redelivered", "detect (s)", "constant"]);
        let mut points = Vec::new();
        for x in 0..3 {
            for y in 0..2 {
                // Leave one cell out of the grid and one detect value empty.
                if (x, y) == (2, 1) {
                    continue;
                }
                let detect = if (x, y) == (0, 1) { None } else { stat(1.5 + x as f64 * 2.25 + y as f64) };
                let redelivered = stat(((x + 1) * 600 * (y + 1)) as f64);
                let constant = Some(Stat { n: 2, min: 7.0, median: 7.0, max: 7.0 });
                points.push(Point { coords: vec![x, y], values: vec![redelivered, detect, constant] });
            }
        }
        let data = PlotData { title: "two axes", axes: &axes, metrics: &metrics, points: &points };
        let paths = write(dir.path(), &data).unwrap();
        let names: Vec<_> = paths.iter().filter_map(|p| p.file_name()?.to_str()).collect();
        assert_eq!(names, ["lines.svg", "lines.png", "heatmap.svg", "heatmap.png"]);
        check(&paths[..2], &["3s", "15s", "session.timeout.ms=6000", "session.timeout.ms=10000"]);
        check(&paths[2..], &["3s", "15s", "6000", "10000", "–", "redelivered (median, 600–2400)"]);
    }

    #[test]
    fn rejects_malformed_input() {
        let dir = tempfile::tempdir().unwrap();
        let metrics = metrics(&["m"]);
        let none = PlotData { title: "t", axes: &[], metrics: &metrics, points: &[] };
        assert!(write(dir.path(), &none).is_err());
        let empty_axis = [axis("a", &[])];
        let data = PlotData { title: "t", axes: &empty_axis, metrics: &metrics, points: &[] };
        assert!(write(dir.path(), &data).is_err());
        let axes = [axis("a", &["x"])];
        let out_of_range = [Point { coords: vec![1], values: vec![None] }];
        let data = PlotData { title: "t", axes: &axes, metrics: &metrics, points: &out_of_range };
        assert!(write(dir.path(), &data).is_err());
    }

    #[test]
    fn helpers() {
        assert_eq!(fmt_value(1800.0), "1800");
        assert_eq!(fmt_value(2.26), "2.3");
        assert_eq!(fmt_value(-0.0), "0");
        assert_eq!(padded(5.0, 5.0), (4.0, 6.0));
        assert_eq!(padded(0.0, 0.0), (0.0, 1.0));
    }
}

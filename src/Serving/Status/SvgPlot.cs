using System.Globalization;
using System.Net;
using System.Text;

namespace AllReduceNet.Serving.Status;

/// <summary>
/// A small plot drawn as inline SVG on the server: a time axis, a linear or log10 value axis, lines (gaps where a
/// value is missing), stacked areas, dashed threshold lines and marked points, each with a native tooltip
/// (<c>&lt;title&gt;</c>). No script and no external resource is needed to see it. Every text is HTML-escaped.
/// </summary>
internal sealed class SvgPlot
{
    public const double Width = 640, Height = 190;
    private const double Left = 52, Right = 12, Top = 22, Bottom = 24;

    /// <summary>Series of at most this many points get a dot per value.</summary>
    private const int DotsUpTo = 40;

    private int _thresholds;

    /// <summary>Colours of the series, in order (colour-blind-safe Okabe-Ito palette).</summary>
    public static readonly string[] Palette = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"];

    private readonly string _id, _title;
    private readonly double _t0, _t1, _y0, _y1;
    private readonly bool _log;
    private readonly StringBuilder _body = new();
    private readonly List<(string Label, string Colour, bool Dashed)> _legend = [];

    /// <param name="id">The element id (also the plot's class prefix for tests).</param>
    /// <param name="title">The caption.</param>
    /// <param name="from">Left end of the time axis.</param>
    /// <param name="to">Right end.</param>
    /// <param name="yMin">Bottom of the value axis (for a log axis, a positive value).</param>
    /// <param name="yMax">Top.</param>
    /// <param name="log">A log10 value axis (p-values).</param>
    public SvgPlot(string id, string title, DateTimeOffset from, DateTimeOffset to, double yMin, double yMax, bool log = false)
    {
        _id = id;
        _title = title;
        _t0 = from.ToUnixTimeMilliseconds() / 1000.0;
        _t1 = Math.Max(_t0 + 1, to.ToUnixTimeMilliseconds() / 1000.0);
        _log = log;
        (_y0, _y1) = log ? (Math.Log10(yMin), Math.Log10(yMax)) : (yMin, yMax);
    }

    private double X(DateTimeOffset time) => Left + (time.ToUnixTimeMilliseconds() / 1000.0 - _t0) / (_t1 - _t0) * (Width - Left - Right);

    private double Y(double value)
    {
        double v = _log ? Math.Log10(Math.Max(value, Math.Pow(10, _y0))) : value;
        v = Math.Clamp(v, _y0, _y1);
        return Height - Bottom - (v - _y0) / (_y1 - _y0) * (Height - Top - Bottom);
    }

    /// <summary>A line through the points that have a value; a missing value breaks it.</summary>
    public void Line(string label, string colour, IReadOnlyList<DateTimeOffset> times, IReadOnlyList<double?> values, bool dashed = false, string format = "0.###")
    {
        _legend.Add((label, colour, dashed));
        var path = new StringBuilder();
        bool drawing = false;
        for (int i = 0; i < times.Count; i++)
        {
            if (values[i] is not { } v || !double.IsFinite(v)) { drawing = false; continue; }
            path.Append(drawing ? " L" : " M").Append(F(X(times[i]))).Append(',').Append(F(Y(v)));
            drawing = true;
        }
        if (path.Length > 0)
            _body.Append($"<path class=\"series\" d=\"{path}\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"2\"{(dashed ? " stroke-dasharray=\"6 3\"" : "")}><title>{E(label)}</title></path>");
        // A dot with its figure as tooltip on each value of a short series, and on lone values (between gaps), which a
        // path would not show; on a long series, dots on every sample would hide the line's dashes.
        bool Has(int i) => i >= 0 && i < times.Count && values[i] is { } v && double.IsFinite(v);
        for (int i = 0; i < times.Count; i++)
            if (values[i] is { } v && double.IsFinite(v) && (times.Count <= DotsUpTo || (!Has(i - 1) && !Has(i + 1))))
                _body.Append($"<circle class=\"point\" cx=\"{F(X(times[i]))}\" cy=\"{F(Y(v))}\" r=\"2\" fill=\"{colour}\"><title>{E(label)}: {E(v.ToString(format, CultureInfo.InvariantCulture))} at {Time(times[i])}</title></circle>");
    }

    /// <summary>Stacked areas: series k fills between the sum of series 0..k-1 and 0..k; a time with no values is a gap.</summary>
    public void StackedAreas(IReadOnlyList<DateTimeOffset> times, IReadOnlyList<(string Label, double?[] Values)> series)
    {
        var lower = new double[times.Count];
        for (int k = 0; k < series.Count; k++)
        {
            string colour = Palette[k % Palette.Length];
            _legend.Add((series[k].Label, colour, false));
            var upper = new double[times.Count];
            for (int i = 0; i < times.Count; i++) upper[i] = lower[i] + (series[k].Values[i] ?? 0);
            // One polygon per run of times with traffic.
            int start = 0;
            while (start < times.Count)
            {
                while (start < times.Count && series[k].Values[start] is null) start++;
                int end = start;
                while (end < times.Count && series[k].Values[end] is not null) end++;
                if (end > start)
                {
                    var points = new StringBuilder();
                    // A run of one interval is drawn as a narrow band so that it shows.
                    for (int i = start; i < end; i++) points.Append(F(X(times[i]))).Append(',').Append(F(Y(upper[i]))).Append(' ');
                    if (end - start == 1) points.Append(F(X(times[start]) + 3)).Append(',').Append(F(Y(upper[start]))).Append(' ').Append(F(X(times[start]) + 3)).Append(',').Append(F(Y(lower[start]))).Append(' ');
                    for (int i = end - 1; i >= start; i--) points.Append(F(X(times[i]))).Append(',').Append(F(Y(lower[i]))).Append(' ');
                    double mean = series[k].Values[start..end].Average(v => v ?? 0);
                    _body.Append($"<polygon class=\"area\" points=\"{points.ToString().TrimEnd()}\" fill=\"{colour}\" fill-opacity=\"0.85\"><title>{E(series[k].Label)}: {E(mean.ToString("P1", CultureInfo.InvariantCulture))} of the requests from {Time(times[start])} to {Time(times[end - 1])}</title></polygon>");
                }
                start = end;
            }
            lower = upper;
        }
    }

    /// <summary>A dashed horizontal line at a threshold, labelled.</summary>
    public void Threshold(double value, string label)
    {
        double y = Y(value);
        _body.Append($"<line class=\"threshold\" x1=\"{F(Left)}\" x2=\"{F(Width - Right)}\" y1=\"{F(y)}\" y2=\"{F(y)}\" stroke=\"#C00000\" stroke-width=\"1.2\" stroke-dasharray=\"4 3\"><title>{E(label)}</title></line>");
        // Each further threshold's label moves left, so that labels of close thresholds do not overprint.
        double labelX = Width - Right - 2 - 150 * (_thresholds++ % 3);
        _body.Append($"<text x=\"{F(labelX)}\" y=\"{F(y - 3)}\" text-anchor=\"end\" class=\"threshold-label\">{E(label)}</text>");
    }

    /// <summary>A ring around a point that alarmed.</summary>
    public void Alarm(DateTimeOffset time, double value, string what)
    {
        _body.Append($"<circle class=\"alarm\" cx=\"{F(X(time))}\" cy=\"{F(Y(value))}\" r=\"5\" fill=\"none\" stroke=\"#C00000\" stroke-width=\"2\"><title>{E(what)}</title></circle>");
    }

    /// <summary>The SVG element with axes, grid, the series and a legend.</summary>
    public string Render()
    {
        var svg = new StringBuilder();
        svg.Append($"<figure class=\"plot\"><svg id=\"{E(_id)}\" class=\"chart\" role=\"img\" aria-label=\"{E(_title)}\" viewBox=\"0 0 {F(Width)} {F(Height)}\" width=\"{F(Width)}\" height=\"{F(Height)}\" xmlns=\"http://www.w3.org/2000/svg\">");
        svg.Append($"<rect x=\"{F(Left)}\" y=\"{F(Top)}\" width=\"{F(Width - Left - Right)}\" height=\"{F(Height - Top - Bottom)}\" fill=\"#FAFAFA\" stroke=\"#BBBBBB\"/>");
        foreach (double tick in YTicks())
        {
            double y = Y(tick);
            svg.Append($"<line x1=\"{F(Left)}\" x2=\"{F(Width - Right)}\" y1=\"{F(y)}\" y2=\"{F(y)}\" stroke=\"#E4E4E4\"/>");
            string text = _log ? tick.ToString("0.####", CultureInfo.InvariantCulture) : tick.ToString(_y1 - _y0 <= 1 ? "0.##" : "0.#", CultureInfo.InvariantCulture);
            svg.Append($"<text x=\"{F(Left - 4)}\" y=\"{F(y + 4)}\" text-anchor=\"end\" class=\"tick\">{text}</text>");
        }
        for (int i = 0; i <= 4; i++)
        {
            double seconds = _t0 + (_t1 - _t0) * i / 4;
            double x = Left + (Width - Left - Right) * i / 4;
            svg.Append($"<text x=\"{F(x)}\" y=\"{F(Height - 6)}\" text-anchor=\"{(i == 0 ? "start" : i == 4 ? "end" : "middle")}\" class=\"tick\">{Time(DateTimeOffset.FromUnixTimeMilliseconds((long)(seconds * 1000)))}</text>");
        }
        svg.Append(_body);
        double legendX = Left;
        foreach (var (label, colour, dashed) in _legend)
        {
            svg.Append($"<line x1=\"{F(legendX)}\" x2=\"{F(legendX + 14)}\" y1=\"12\" y2=\"12\" stroke=\"{colour}\" stroke-width=\"4\"{(dashed ? " stroke-dasharray=\"4 2\"" : "")}/>");
            svg.Append($"<text x=\"{F(legendX + 18)}\" y=\"16\" class=\"legend\">{E(label)}</text>");
            legendX += 26 + 6.5 * label.Length;
        }
        svg.Append("</svg>");
        svg.Append($"<figcaption>{E(_title)}</figcaption></figure>");
        return svg.ToString();
    }

    private IEnumerable<double> YTicks()
    {
        if (_log)
        {
            for (int e = (int)Math.Ceiling(_y0); e <= (int)Math.Floor(_y1); e++) yield return Math.Pow(10, e);
            yield break;
        }
        for (int i = 0; i <= 4; i++) yield return _y0 + (_y1 - _y0) * i / 4;
    }

    /// <summary>A time as the axes and tooltips show it: UTC, to the second.</summary>
    public static string Time(DateTimeOffset time) => time.UtcDateTime.ToString("HH:mm:ss", CultureInfo.InvariantCulture);

    private static string F(double value) => value.ToString("0.#", CultureInfo.InvariantCulture);

    private static string E(string text) => WebUtility.HtmlEncode(text);
}

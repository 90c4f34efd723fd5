using System.Globalization;
using System.Text;

namespace AllReduceNet.Perf;

/// <summary>
/// Draws busbw against message size (log-log) for every (transport, ranks, algorithm) series of one or more sweep
/// CSV files, as an SVG: the picture in benchmarks/RESULTS.md. The colour says the algorithm (MPI_Allreduce in
/// black), the dash pattern the transport. Written by hand to need no plotting package.
/// </summary>
public static class SvgPlot
{
    private const int Width = 1060, Height = 560, Left = 70, Right = 280, Top = 40, Bottom = 60;
    private static readonly Dictionary<string, string> AlgorithmColors = new()
    {
        ["native"] = "#000000", ["ring"] = "#d62728", ["tree"] = "#2ca02c", ["recursivedoubling"] = "#ff7f0e", ["direct"] = "#9467bd", ["auto"] = "#1f77b4",
    };
    private static readonly string[] OtherColors = ["#8c564b", "#e377c2", "#17becf", "#7f7f7f", "#bcbd22"];
    private static readonly string[] Dashes = ["", "8 4", "2 3", "8 3 2 3"];

    public static void Write(IEnumerable<string> csvPaths, string svgPath, string title)
    {
        var rows = csvPaths.SelectMany(ReadCsv).Where(p => p.BusBandwidth > 0).ToList();
        bool severalRankCounts = rows.Select(p => p.Ranks).Distinct().Count() > 1;
        var series = rows
            .GroupBy(p => $"{ShortTransport(p.Transport)}{(severalRankCounts ? $", {p.Ranks} ranks" : "")}: {p.Algorithm}")
            .ToList();
        var transports = rows.Select(p => ShortTransport(p.Transport)).Distinct().ToList();
        if (series.Count == 0) throw new ArgumentException("the CSV files hold no rows with a positive busbw to plot.");
        double minX = Math.Log2(series.Min(s => s.Min(p => p.Bytes))), maxX = Math.Log2(series.Max(s => s.Max(p => p.Bytes)));
        double minY = Math.Floor(Math.Log10(series.Min(s => s.Min(p => p.BusBandwidth)))), maxY = Math.Ceiling(Math.Log10(series.Max(s => s.Max(p => p.BusBandwidth))));
        if (maxX <= minX) maxX = minX + 1;
        if (maxY <= minY) maxY = minY + 1;
        double X(double bytes) => Left + (Math.Log2(bytes) - minX) / (maxX - minX) * (Width - Left - Right);
        double Y(double gbps) => Height - Bottom - (Math.Log10(gbps) - minY) / (maxY - minY) * (Height - Top - Bottom);

        var inv = CultureInfo.InvariantCulture;
        var svg = new StringBuilder();
        svg.AppendLine(inv, $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{Width}\" height=\"{Height}\" font-family=\"sans-serif\" font-size=\"12\">");
        svg.AppendLine("<rect width=\"100%\" height=\"100%\" fill=\"white\"/>");
        svg.AppendLine(inv, $"<text x=\"{Left}\" y=\"22\" font-size=\"15\">{Escape(title)}</text>");
        for (double e = minY; e <= maxY; e++)
        {
            double y = Y(Math.Pow(10, e));
            svg.AppendLine(inv, $"<line x1=\"{Left}\" y1=\"{y:F1}\" x2=\"{Width - Right}\" y2=\"{y:F1}\" stroke=\"#ddd\"/>");
            svg.AppendLine(inv, $"<text x=\"{Left - 6}\" y=\"{y + 4:F1}\" text-anchor=\"end\">{Math.Pow(10, e).ToString("G", inv)}</text>");
        }
        for (double e = Math.Ceiling(minX); e <= maxX; e += 2)
        {
            double x = X(Math.Pow(2, e));
            svg.AppendLine(inv, $"<line x1=\"{x:F1}\" y1=\"{Top}\" x2=\"{x:F1}\" y2=\"{Height - Bottom}\" stroke=\"#eee\"/>");
            svg.AppendLine(inv, $"<text x=\"{x:F1}\" y=\"{Height - Bottom + 16}\" text-anchor=\"middle\">{SizeParser.Format((long)Math.Pow(2, e))}</text>");
        }
        svg.AppendLine(inv, $"<text x=\"{(Left + Width - Right) / 2}\" y=\"{Height - 18}\" text-anchor=\"middle\">message size (bytes)</text>");
        svg.AppendLine(inv, $"<text x=\"18\" y=\"{(Top + Height - Bottom) / 2}\" transform=\"rotate(-90 18 {(Top + Height - Bottom) / 2})\" text-anchor=\"middle\">busbw (GB/s)</text>");
        for (int i = 0; i < series.Count; i++)
        {
            var first = series[i].First();
            string color = AlgorithmColors.TryGetValue(first.Algorithm, out var c) ? c : OtherColors[i % OtherColors.Length];
            string dash = Dashes[transports.IndexOf(ShortTransport(first.Transport)) % Dashes.Length];
            string dashAttribute = dash.Length > 0 ? $" stroke-dasharray=\"{dash}\"" : "";
            var points = string.Join(" ", series[i].OrderBy(p => p.Bytes).Select(p => string.Create(inv, $"{X(p.Bytes):F1},{Y(p.BusBandwidth):F1}")));
            svg.AppendLine(inv, $"<polyline fill=\"none\" stroke=\"{color}\" stroke-width=\"{(first.Algorithm == "native" ? 2.5 : 1.8)}\"{dashAttribute} points=\"{points}\"/>");
            double ly = Top + 10 + i * 18;
            svg.AppendLine(inv, $"<line x1=\"{Width - Right + 12}\" y1=\"{ly}\" x2=\"{Width - Right + 40}\" y2=\"{ly}\" stroke=\"{color}\" stroke-width=\"2\"{dashAttribute}/>");
            svg.AppendLine(inv, $"<text x=\"{Width - Right + 46}\" y=\"{ly + 4}\">{Escape(series[i].Key)}</text>");
        }
        svg.AppendLine("</svg>");
        File.WriteAllText(svgPath, svg.ToString());
    }

    private static IEnumerable<ResultRow> ReadCsv(string path)
    {
        if (!File.Exists(path)) throw new ArgumentException($"--plot: no such CSV file '{path}'.");
        foreach (var line in File.ReadLines(path).Skip(1))
        {
            var f = SplitCsv(line);
            if (f.Count < 12) throw new ArgumentException($"--plot: '{path}' has a row with {f.Count} fields, expected 12: {line}");
            var inv = CultureInfo.InvariantCulture;
            yield return new ResultRow(f[0], int.Parse(f[1], inv), long.Parse(f[2], inv), long.Parse(f[3], inv), f[4], f[5], f[6],
                double.Parse(f[7], inv), double.Parse(f[8], inv), double.Parse(f[9], inv), long.Parse(f[10], inv), double.Parse(f[11], inv));
        }
    }

    private static List<string> SplitCsv(string line)
    {
        var fields = new List<string>();
        var current = new StringBuilder();
        bool quoted = false;
        foreach (char c in line)
        {
            if (c == '"') quoted = !quoted;
            else if (c == ',' && !quoted) { fields.Add(current.ToString()); current.Clear(); }
            else current.Append(c);
        }
        fields.Add(current.ToString());
        return fields;
    }

    /// <summary>"mpi (MPICH 4.0.2, shared memory)" becomes "MPICH 4.0.2"; "in-process" stays.</summary>
    private static string ShortTransport(string transport)
    {
        if (!transport.StartsWith("mpi (", StringComparison.Ordinal)) return transport;
        var inner = transport[5..].TrimEnd(')');
        int comma = inner.IndexOf(", shared memory", StringComparison.Ordinal);
        return comma >= 0 ? inner[..comma] : inner + " (point-to-point)";
    }

    private static string Escape(string s) => s.Replace("&", "&amp;").Replace("<", "&lt;").Replace(">", "&gt;");
}

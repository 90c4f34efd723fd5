using System.Globalization;
using System.Net;
using System.Text;

namespace AllReduceNet.Serving.Status;

/// <summary>
/// GET /status as one self-contained HTML page: no external script, style, font or image. The plots are inline SVG
/// drawn by <see cref="SvgPlot"/>; a small inline script (allowed by the page's Content-Security-Policy through a
/// per-answer nonce) fetches the page again every sample interval and swaps its main part in, and a meta refresh does
/// the same where scripts are off. Every name and text that comes from outside (model names, versions, decision
/// reasons) is HTML-escaped. docs/status-page.md describes each plot.
/// </summary>
internal static class StatusPage
{
    public static string Render(StatusView view, string nonce)
    {
        var html = new StringBuilder();
        int refresh = Math.Max(1, (int)Math.Round(view.IntervalSeconds));
        html.Append("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>AllReduceNet serving status</title>");
        html.Append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">");
        html.Append($"<noscript><meta http-equiv=\"refresh\" content=\"{refresh}\"></noscript>");
        html.Append("<style>").Append(Style).Append("</style></head>");
        html.Append($"<body data-refresh-seconds=\"{refresh}\" data-live=\"off\">");
        html.Append("<header><h1>AllReduceNet serving status</h1>");
        html.Append($"<p class=\"meta\">Generated <time id=\"generated\" datetime=\"{view.GeneratedAt.UtcDateTime:O}\">{E(view.GeneratedAt.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture))} UTC</time>; ");
        html.Append($"a sample every {E(Number(view.IntervalSeconds, "0.###"))} s, {view.Samples} of {view.HistoryCapacity} kept");
        if (view.HistoryStart is { } start) html.Append($" (since {SvgPlot.Time(start)} UTC)");
        html.Append(". <span id=\"live\">Reloads itself every ").Append(refresh).Append(" s.</span> Data: <a href=\"/status.json\">/status.json</a>, <a href=\"/drift\">/drift</a>, <a href=\"/metrics\">/metrics</a>.</p></header>");
        html.Append("<main id=\"status\">");
        html.Append(MainPart(view));
        html.Append("</main>");
        html.Append($"<script nonce=\"{E(nonce)}\">").Append(Script).Append("</script>");
        html.Append("</body></html>");
        return html.ToString();
    }

    /// <summary>The part the script swaps in on each refresh.</summary>
    private static string MainPart(StatusView view)
    {
        var html = new StringBuilder();
        if (view.Models.Length == 0)
        {
            html.Append("<p class=\"none\">No model is served: none to show. Load one with POST /v2/repository/models/{name}/load.</p>");
            return html.ToString();
        }
        html.Append("<section id=\"versions\"><h2>Served versions</h2>").Append(VersionsTable(view)).Append("</section>");
        foreach (var model in view.Models)
        {
            string id = Id(model.Name);
            html.Append($"<section class=\"model\" id=\"model-{id}\"><h2>Model <q>{E(model.Name)}</q></h2>");
            html.Append("<div class=\"grid\">");
            html.Append(TrafficPlot(model, id, view));
            html.Append(AccuracyPlot(model, id, view));
            html.Append("</div>");
            html.Append(DriftPart(model, id));
            html.Append(ExperimentPart(model, id));
            html.Append("</section>");
        }
        return html.ToString();
    }

    private static string VersionsTable(StatusView view)
    {
        var html = new StringBuilder("<table class=\"versions\"><thead><tr><th>model</th><th>version</th><th>platform</th><th>role</th>" +
            "<th>requests</th><th>share, last minute</th><th>4xx</th><th>5xx rate</th><th>p50 latency</th><th>p99 latency</th>" +
            "<th>feedback accuracy</th><th>validation accuracy</th><th>drift</th></tr></thead><tbody>");
        foreach (var model in view.Models)
            foreach (var row in model.Versions)
            {
                html.Append($"<tr class=\"{(row.Drift == "DRIFT" ? "drifting" : "")}\"><td>{E(model.Name)}</td><td>{E(row.Version)}</td><td>{E(row.Platform ?? "none")}</td><td>{E(row.Role)}</td>");
                html.Append($"<td class=\"n\">{row.Requests}</td><td class=\"n\">{Share(row.RecentShare)}</td><td class=\"n\">{row.ClientErrors}</td>");
                html.Append($"<td class=\"n\">{E(Number(row.ServerErrorRate * 100, "0.##"))}% ({row.ServerErrors})</td><td class=\"n\">{Ms(row.LatencyP50Ms)}</td><td class=\"n\">{Ms(row.LatencyP99Ms)}</td>");
                html.Append($"<td class=\"n\">{(row.FeedbackAccuracy is { } a ? $"{E(Number(a * 100, "0.0"))}% of {row.FeedbackLabeled}" : "none")}</td>");
                html.Append($"<td class=\"n\">{(row.ReferenceAccuracy is { } r ? E(Number(r * 100, "0.0")) + "%" : "none")}</td><td>{E(row.Drift)}</td></tr>");
            }
        html.Append("</tbody></table><p class=\"note\">Latency and 5xx rate over each version's latest ")
            .Append(VariantStats.LatencyWindow).Append(" answers (4xx refusals counted apart); feedback accuracy over its latest labeled rows (up to the drift window).</p>");
        return html.ToString();
    }

    private static string TrafficPlot(ModelStatus model, string id, StatusView view)
    {
        var traffic = model.Traffic;
        if (traffic.Times.Length == 0 || traffic.Versions.All(v => v.Share.All(s => s is null)))
            return Empty($"traffic-{id}", "Traffic share by version", "none yet: no request in the history (two samples are needed for an interval).");
        var plot = new SvgPlot($"traffic-{id}", $"Traffic share by version per {Number(view.IntervalSeconds, "0.###")} s interval (stacked; gaps: no request)",
            traffic.Times[0], traffic.Times[^1], 0, 1);
        plot.StackedAreas(traffic.Times, traffic.Versions.Select(v => ($"v{v.Version}", v.Share)).ToArray());
        double rate = traffic.RequestsPerSecond.Length == 0 ? 0 : traffic.RequestsPerSecond[^1];
        return $"<div>{plot.Render()}<p class=\"note\">Latest interval: {E(Number(rate, "0.#"))} requests/s.</p></div>";
    }

    private static string AccuracyPlot(ModelStatus model, string id, StatusView view)
    {
        var accuracy = model.Accuracy;
        if (accuracy.Lines.Length == 0)
            return Empty($"accuracy-{id}", "Accuracy per variant", "none yet: no label has come back (POST /v2/models/{name}/feedback or .../experiment/feedback).");
        var values = accuracy.Lines.SelectMany(l => l.Values).OfType<double>()
            .Concat(model.Versions.Select(v => v.ReferenceAccuracy).OfType<double>()).ToArray();
        double low = Math.Max(0, Math.Floor((values.Min() - 0.02) * 20) / 20), high = Math.Min(1, Math.Ceiling((values.Max() + 0.02) * 20) / 20);
        var plot = new SvgPlot($"accuracy-{id}", "Accuracy per version from feedback (solid: latest labeled rows; dashed: experiment variant, all its labels)",
            accuracy.Times[0], accuracy.Times[^1], low, Math.Max(high, low + 0.05));
        var colours = Colours(model);
        foreach (var line in accuracy.Lines)
            plot.Line(line.Label, colours.GetValueOrDefault(line.Version, "#000000"), accuracy.Times, line.Values, dashed: line.Source == "experiment");
        foreach (var row in model.Versions)
            if (row.ReferenceAccuracy is { } r && accuracy.Lines.Any(l => l.Version == row.Version))
                plot.Threshold(r, $"v{row.Version} validation {Number(r * 100, "0.0")}%");
        return plot.Render();
    }

    private static string DriftPart(ModelStatus model, string id)
    {
        var html = new StringBuilder("<h3>Drift per window</h3>");
        if (model.Drift.Length == 0) return html.Append("<p class=\"none\">none: no version of this model is served.</p>").ToString();
        foreach (var drift in model.Drift)
        {
            string versionId = $"{id}-v{Id(drift.Version)}";
            if (!drift.Available)
            {
                html.Append($"<p class=\"none\" id=\"drift-{versionId}\">v{E(drift.Version)}: none: {E(drift.Reason ?? "unavailable")}.</p>");
                continue;
            }
            if (drift.Windows.Length == 0)
            {
                html.Append($"<p class=\"none\" id=\"drift-{versionId}\">v{E(drift.Version)}: none yet: no window of {drift.Window} rows tested.</p>");
                continue;
            }
            var windows = drift.Windows;
            var times = windows.Select(w => new DateTimeOffset(w.At, TimeSpan.Zero)).ToArray();
            var (from, to) = (times[0], times[^1]);
            html.Append($"<div class=\"grid\" id=\"drift-{versionId}\">");
            var share = new SvgPlot($"drift-share-{versionId}", $"v{drift.Version}: share of the features drifted ({drift.FeatureTest}) per window", from, to, 0, 1);
            share.Line("drifted share", SvgPlot.Palette[0], times, windows.Select(w => (double?)w.DriftedShare).ToArray());
            share.Threshold(drift.DriftShareThreshold, $"dataset drift at {Number(drift.DriftShareThreshold, "0.##")}");
            var mmd = new SvgPlot($"drift-mmd-{versionId}", $"v{drift.Version}: multivariate (MMD on activations) p-value per window, log scale", from, to, 1e-4, 1, log: true);
            mmd.Line("MMD p-value", SvgPlot.Palette[2], times, windows.Select(w => (double?)w.MmdPValue).ToArray(), format: "G3");
            mmd.Threshold(drift.MmdPValueThreshold, $"alarm below {Number(drift.MmdPValueThreshold, "G3")}");
            var prediction = new SvgPlot($"drift-prediction-{versionId}", $"v{drift.Version}: prediction drift p-value per window, log scale", from, to, 1e-4, 1, log: true);
            prediction.Line("prediction p-value", SvgPlot.Palette[1], times, windows.Select(w => (double?)w.PredictionPValue).ToArray(), format: "G3");
            prediction.Threshold(drift.PredictionPValueThreshold, $"alarm below {Number(drift.PredictionPValueThreshold, "G3")}");
            for (int i = 0; i < windows.Length; i++)
            {
                var w = windows[i];
                string at = $"window ending at row {w.EndRow}";
                if (w.DatasetDrift) share.Alarm(times[i], w.DriftedShare, $"dataset drift: {w.FeaturesDrifted} features, {at}");
                if (w.MmdPValue < drift.MmdPValueThreshold) mmd.Alarm(times[i], w.MmdPValue, $"multivariate drift, {at}");
                if (w.PredictionPValue < drift.PredictionPValueThreshold) prediction.Alarm(times[i], w.PredictionPValue, $"prediction drift, {at}");
            }
            html.Append(share.Render()).Append(mmd.Render()).Append(prediction.Render()).Append("</div>");
            var last = windows[^1];
            html.Append($"<p class=\"note\">v{E(drift.Version)}, latest window (rows to {last.EndRow}): {(last.Drift ? "<strong class=\"alarm-text\">DRIFT</strong>" : "no drift")}; ")
                .Append($"{last.FeaturesDrifted} features drifted, MMD p {E(Number(last.MmdPValue, "G3"))}, prediction p {E(Number(last.PredictionPValue, "G3"))}; {windows.Length} windows shown.</p>");
        }
        return html.ToString();
    }

    private static string ExperimentPart(ModelStatus model, string id)
    {
        var html = new StringBuilder("<h3>A/B test</h3>");
        if (model.Experiment is not { } x)
            return html.Append($"<p class=\"none\" id=\"experiment-{id}\">none: no experiment has run on this model since the server started (POST /v2/repository/models/{E(model.Name)}/experiment starts one).</p>").ToString();
        html.Append($"<div class=\"grid\" id=\"experiment-{id}\"><div><table class=\"evidence\"><tbody>");
        html.Append($"<tr><th>state</th><td class=\"state-{E(x.State.Replace(' ', '-'))}\">{E(x.State)}{(x.Decision is null ? "" : $" ({E(x.Decision)}{(x.DecidedAt is { } t ? $" at {SvgPlot.Time(t)} UTC" : "")})")}</td></tr>");
        if (x.Reason is not null) html.Append($"<tr><th>reason</th><td>{E(x.Reason)}</td></tr>");
        html.Append($"<tr><th>mode</th><td>{E(x.Mode)}{(x.Mode == "split" ? $", candidate {E(Number(x.CandidatePercent, "0.##"))}% of the traffic" : "")}; started {SvgPlot.Time(x.Started)} UTC</td></tr>");
        html.Append($"<tr><th>test</th><td>mSPRT, alpha {E(Number(x.Alpha, "G3"))}: decides when the likelihood ratio reaches 1/alpha = {E(Number(x.LikelihoodRatioThreshold, "G4"))}, i.e. p &le; alpha; at least {x.MinSamples} labels per variant</td></tr>");
        html.Append($"<tr><th>evidence</th><td>p-value <strong id=\"p-value-{id}\">{E(Number(x.PValue, "G3"))}</strong>, likelihood ratio {(x.LikelihoodRatio is { } lr ? E(Number(lr, "G3")) : "none")}, ");
        html.Append($"accuracy difference {(x.Difference is { } d ? E(Number(d * 100, "+0.00;-0.00;0")) + " points" : "none")}{(x.Testing ? "" : " (waiting for the minimum sample)")}</td></tr>");
        html.Append("</tbody></table><table class=\"variants\"><thead><tr><th>variant</th><th>version</th><th>requests</th><th>5xx rate</th><th>p50</th><th>p99</th><th>labeled</th><th>accuracy</th></tr></thead><tbody>");
        foreach (var (name, v) in new[] { ("control", x.ControlVariant), ("candidate", x.CandidateVariant) })
        {
            double progress = Math.Min(1, (double)v.Labeled / x.MinSamples);
            html.Append($"<tr><td>{name}</td><td>{E(v.Version)}</td><td class=\"n\">{v.Requests}</td><td class=\"n\">{E(Number(v.ErrorRate * 100, "0.##"))}%</td><td class=\"n\">{Ms(v.LatencyP50Ms)}</td><td class=\"n\">{Ms(v.LatencyP99Ms)}</td>");
            html.Append($"<td class=\"n\">{v.Labeled} <progress max=\"1\" value=\"{E(Number(progress, "0.###"))}\" title=\"of the minimum {x.MinSamples}\"></progress></td><td class=\"n\">{(v.Accuracy is { } a ? E(Number(a * 100, "0.00")) + "%" : "none")}</td></tr>");
        }
        html.Append("</tbody></table></div>");
        if (x.Times.Length == 0) html.Append(Empty($"evidence-{id}", "Always-valid p-value", "none yet: no sample since the experiment started."));
        else
        {
            var plot = new SvgPlot($"evidence-{id}", "Always-valid p-value of the A/B test (running minimum; log scale) against alpha", x.Times[0], x.Times[^1],
                Math.Min(1e-3, Math.Pow(10, Math.Floor(Math.Log10(Math.Max(1e-12, Math.Min(x.Alpha, x.PValues.Min())))))), 1, log: true);
            plot.Line("p-value", SvgPlot.Palette[0], x.Times, x.PValues.Select(p => (double?)p).ToArray(), format: "G3");
            plot.Threshold(x.Alpha, $"alpha {Number(x.Alpha, "G3")}: decide");
            html.Append(plot.Render());
        }
        return html.Append("</div>").ToString();
    }

    /// <summary>The same colour for a version in every plot of its model.</summary>
    private static Dictionary<string, string> Colours(ModelStatus model) =>
        model.Traffic.Versions.Select((v, i) => (v.Version, SvgPlot.Palette[i % SvgPlot.Palette.Length])).ToDictionary(p => p.Version, p => p.Item2);

    private static string Empty(string id, string title, string why) =>
        $"<figure class=\"plot empty\" id=\"{E(id)}\"><p class=\"none\">{E(why)}</p><figcaption>{E(title)}</figcaption></figure>";

    private static string Share(double? share) => share is { } s ? E(Number(s * 100, "0.#")) + "%" : "none";

    private static string Ms(double? milliseconds) => milliseconds is { } ms ? E(Number(ms, ms < 10 ? "0.00" : "0.0")) + " ms" : "none";

    private static string Number(double value, string format) => value.ToString(format, CultureInfo.InvariantCulture);

    /// <summary>A token for element ids made from a name: letters and digits kept, anything else as _XX (so distinct names stay distinct).</summary>
    internal static string Id(string name)
    {
        var id = new StringBuilder();
        foreach (char c in name)
            if (char.IsAsciiLetterOrDigit(c) || c == '-') id.Append(c);
            else id.Append('_').Append(((int)c).ToString("X", CultureInfo.InvariantCulture));
        return id.ToString();
    }

    private static string E(string text) => WebUtility.HtmlEncode(text);

    private const string Style = """
        body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:16px 24px;color:#222;background:#fff}
        h1{font-size:1.5em;margin:0 0 4px}h2{font-size:1.2em;margin:22px 0 8px;border-bottom:1px solid #ddd}h3{font-size:1.05em;margin:14px 0 6px}
        .meta,.note{color:#555;font-size:.85em;margin:4px 0}.none{color:#666;font-style:italic}
        table{border-collapse:collapse;font-size:.85em;margin:4px 0}th,td{border:1px solid #ddd;padding:3px 7px;text-align:left}
        th{background:#f2f2f2}td.n{text-align:right;font-variant-numeric:tabular-nums}tr.drifting td{background:#fdecea}
        .grid{display:flex;flex-wrap:wrap;gap:10px 18px;align-items:flex-start}figure.plot{margin:0}figure.empty{width:640px;padding:8px 0}
        figcaption{font-size:.8em;color:#444;max-width:640px}svg.chart text{font-size:10px;fill:#333}svg.chart .legend{font-size:11px}
        svg.chart .threshold-label{fill:#C00000}.alarm-text,.state-rolled-back{color:#C00000}.state-promoted{color:#007A33;font-weight:bold}
        progress{width:60px;height:8px}
        """;

    // Reloads the page's main part every interval; the meta refresh in <noscript> does the same without scripts.
    private const string Script = """
        (function () {
          var body = document.body, seconds = Number(body.dataset.refreshSeconds) || 5, refreshes = 0;
          body.dataset.live = "on";
          document.getElementById("live").textContent = "Live: refreshed every " + seconds + " s.";
          function refresh() {
            fetch(location.pathname, { cache: "no-store" }).then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
              .then(function (text) {
                var next = new DOMParser().parseFromString(text, "text/html");
                document.getElementById("status").replaceWith(next.getElementById("status"));
                document.getElementById("generated").replaceWith(next.getElementById("generated"));
                body.dataset.refreshes = String(++refreshes);
              })
              .catch(function (e) { document.getElementById("live").textContent = "Refresh failed (" + e + "); retrying every " + seconds + " s."; });
          }
          setInterval(refresh, seconds * 1000);
        })();
        """;
}

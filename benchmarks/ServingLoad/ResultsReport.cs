using System.Globalization;
using System.Text;

namespace AllReduceNet.Serving.LoadBenchmarks;

/// <summary>
/// Writes benchmarks/RESULTS-serving.md from the figures one run of benchmarks/run-serving.sh collected (one line of
/// key=value pairs per measurement, keyed by name), with the ratios the serving goals are judged by, all from that run.
/// </summary>
internal static class ResultsReport
{
    public static void Write(string figuresPath, string outPath, string command)
    {
        var figures = File.ReadAllLines(figuresPath).Where(l => l.StartsWith("name=", StringComparison.Ordinal)).Select(Parse)
            .GroupBy(f => f["name"]).ToDictionary(g => g.Key, g => g.Last());
        Dictionary<string, string> F(string name) =>
            figures.TryGetValue(name, out var f) ? f : throw new InvalidDataException($"{figuresPath} has no figures named '{name}': the run did not finish.");
        double D(string name, string key) => double.Parse(F(name)[key], CultureInfo.InvariantCulture);
        var inv = CultureInfo.InvariantCulture;
        var md = new StringBuilder();
        void L(FormattableString line) => md.AppendLine(line.ToString(inv));

        L($"# Serving under load");
        L($"");
        // The figures file is written at the end of the run, so its time is the run's.
        L($"Written by `{command}`, run ending {File.GetLastWriteTimeUtc(figuresPath):yyyy-MM-dd HH:mm} UTC; every figure below is from that one run. Machine: {Environment.ProcessorCount} cores ({CpuModel()}), load average {F("machine")["loadavg_before"]} before the run and {F("machine")["loadavg_after"]} after (other work shares the machine when the load is above 0). The load generator (wrk, or ServingLoad for the open-loop and checked runs) runs on the same cores as the server.");
        double loadBefore = D("machine", "loadavg_before"), loadAfter = D("machine", "loadavg_after");
        if (Math.Max(loadBefore, loadAfter) > Environment.ProcessorCount)
        {
            L($"");
            L($"**A busy machine:** the load average ({Math.Max(loadBefore, loadAfter):F1}) exceeded the {Environment.ProcessorCount} cores, so other processes took a varying share of the CPU during the run. Each figure is a measurement of a contended machine at its own moment; ratios of figures taken minutes apart carry that noise. Run again on a quiet machine for the server's own figures.");
        }
        L($"");
        L($"Model: the MLP {F("forward-64")["layers"]} trained by `Train.dll --epochs 1 --export-model` on Fashion-MNIST; requests carry raw test-set pixels 0..255 to `POST /v2/models/fashion/infer` (the model's preprocess.json standardizes them on the server).");
        L($"");
        L($"## Throughput and latency: 64 connections, {D("wrk-batched-1row", "seconds"):F0} s each, closed loop (wrk --latency)");
        L($"");
        L($"| run | requests/s | rows/s | p50 ms | p99 ms | non-2xx | socket errors |");
        L($"|---|---:|---:|---:|---:|---:|---:|");
        foreach (var (name, what, rows) in new[]
        {
            ("wrk-batched-1row", "1 row per request, dynamic batching (default: --max-batch 64, --max-queue-delay-us 500)", 1),
            ("wrk-unbatched-1row", "1 row per request, `--max-batch 1`", 1),
            ("wrk-batched-16rows", "16 rows per request, dynamic batching", 16),
            ("wrk-batched-1row-binary", "1 row per request as binary tensor data, dynamic batching", 1),
            ("wrk-batched-16rows-binary", "16 rows per request as binary tensor data, dynamic batching", 16),
            ("wrk-health-live", "`GET /v2/health/live`: the HTTP floor, no body, no model", 0),
        })
        {
            var f = F(name);
            L($"| {what} | {D(name, "rps"):F0} | {(rows == 0 ? "-" : (D(name, "rps") * rows).ToString("F0", inv))} | {D(name, "p50_ms"):F2} | {D(name, "p99_ms"):F2} | {f["non2xx"]} | {f["errors"]} |");
        }
        L($"| in-process limit: forward pass at batch 64 (no HTTP, no JSON; median of 15 iterations) | - | {D("forward-64", "rows_per_s"):F0} | - | - | - | - |");
        L($"| in-process forward pass at batch 1 | - | {D("forward-1", "rows_per_s"):F0} | - | - | - | - |");
        L($"");

        double batched = D("wrk-batched-1row", "rps"), unbatched = D("wrk-unbatched-1row", "rps"), limit = D("forward-64", "rows_per_s");
        double rows16 = D("wrk-batched-16rows", "rps") * 16, floor = D("wrk-health-live", "rps");
        double binary1 = D("wrk-batched-1row-binary", "rps"), binary16 = D("wrk-batched-16rows-binary", "rps") * 16;
        var half = F("open-half");
        var mix = F("mix-10pct-bad");
        var hot = F("hot-load");
        bool mixOk = mix["good_failed"] == "0" && mix["bad_other"] == "0" && mix["errors"] == "0" && mix["distinct_good_answers"] == "1";
        bool hotOk = hot["good_failed"] == "0" && hot["errors"] == "0" && hot["stale_after_switch"] == "0" && hot["versions"].Contains("1:", StringComparison.Ordinal) && hot["versions"].Contains("2:", StringComparison.Ordinal);
        string Met(bool ok) => ok ? "met" : "**not met**";
        L($"## The goals");
        L($"");
        L($"| goal | measured | |");
        L($"|---|---|---|");
        L($"| batching >= 3x the unbatched throughput | {batched:F0} / {unbatched:F0} req/s = **{batched / unbatched:F2}x** | {Met(batched / unbatched >= 3)} |");
        L($"| serving >= 0.5x the in-process limit, 1-row requests | {batched:F0} rows/s / {limit:F0} = **{batched / limit:F3}x** | {Met(batched / limit >= 0.5)} |");
        L($"| serving >= 0.5x the in-process limit, 16-row requests | {rows16:F0} rows/s / {limit:F0} = **{rows16 / limit:F3}x** | {Met(rows16 / limit >= 0.5)} |");
        L($"| serving >= 0.5x the in-process limit, 1-row binary tensor data | {binary1:F0} rows/s / {limit:F0} = **{binary1 / limit:F3}x** | {Met(binary1 / limit >= 0.5)} |");
        L($"| serving >= 0.5x the in-process limit, 16-row binary tensor data | {binary16:F0} rows/s / {limit:F0} = **{binary16 / limit:F3}x** | {Met(binary16 / limit >= 0.5)} |");
        L($"| p99 under 20 ms at half the saturating load | open loop at {half["target_rps"]} req/s (half of {batched:F0}), {D("open-half", "seconds"):F0} s including a warm-up at that rate that is not timed (a third of the run, 5 s at most): p50 {D("open-half", "p50_ms"):F2} ms, p99 **{D("open-half", "p99_ms"):F2} ms**, {half["good_failed"]} failed, {half["errors"]} errors | {Met(D("open-half", "p99_ms") < 20 && half["good_failed"] == "0")} |");
        L($"| 10% bad requests: 0 good ones fail, every bad one a 4xx | {mix["good"]} good: {mix["good_failed"]} failed, {mix["distinct_good_answers"]} distinct answer(s); {mix["bad"]} bad: {mix["bad_4xx"]} got a 4xx, {mix["bad_other"]} something else ({mix["bad_other_codes"]}); {mix["errors"]} socket errors; {D("mix-10pct-bad", "rps"):F0} req/s, p99 {D("mix-10pct-bad", "p99_ms"):F2} ms | {Met(mixOk)} |");
        L($"| a new version loaded under load: 0 failed requests | {hot["requests"]} requests: {hot["good_failed"]} failed, {hot["errors"]} socket errors; answered by version {hot["versions"]}; {hot["stale_after_switch"]} answered by version 1 after version 2 had answered; the load call: HTTP {F("hot-load-switch")["status"]} in {F("hot-load-switch")["ms"]} ms | {Met(hotOk)} |");
        L($"");

        L($"## Where a request's time goes");
        L($"");
        L($"| measurement | figure |");
        L($"|---|---|");
        L($"| HTTP floor: `GET /v2/health/live`, 64 connections | {floor:F0} requests/s, p99 {D("wrk-health-live", "p99_ms"):F2} ms |");
        foreach (var (name, what) in new[] { ("parse-1row-pixels", "JSON, 1 row, raw pixels 0..255"), ("parse-1row-floats", "JSON, 1 row, standardized floats (shortest round-trip text)"), ("parse-16rows-pixels", "JSON, 16 rows, raw pixels"), ("parse-1row-binary", "binary tensor data, 1 row"), ("parse-16rows-binary", "binary tensor data, 16 rows") })
            L($"| server's request reading (JSON: JsonDocument + TensorReader; binary: the JSON header + the FP32 bytes checked), {what}, {F(name)["body_bytes"]} bytes | {D(name, "us_per_request"):F1} us per request = {D(name, "requests_per_core_s"):F0} requests/s per core |");
        L($"| forward pass, batch 1 / batch 64 | {D("forward-1", "us_per_pass"):F1} us / {D("forward-64", "us_per_pass"):F1} us per pass ({D("forward-1", "rows_per_s"):F0} / {D("forward-64", "rows_per_s"):F0} rows/s) |");
        L($"");
        if (Math.Max(rows16, binary16) > limit)
            L($"A served figure above the in-process limit ({Math.Max(rows16, binary16):F0} against {limit:F0} rows/s) means the limit was measured while the machine was busier than during that wrk run: on a shared machine the moments differ. The limit is the upper bound only on a quiet machine.");
        L($"");
        if (floor < 0.5 * limit)
            L($"Even a request with no body and no model, `/v2/health/live`, is answered only {floor:F0} times a second here: {floor / limit:F3}x the in-process limit in rows. So one-row requests cannot reach 0.5x that limit on this machine whatever the server does after HTTP: the HTTP exchange alone (Kestrel and the load generator on the same {Environment.ProcessorCount} cores) costs {limit / floor:F1}x the forward pass of the row it carries. Rows per request are what moves the ratio: 16-row requests reach {rows16 / limit:F3}x as JSON and {binary16 / limit:F3}x as binary tensor data.");
        else
            L($"The HTTP floor, `/v2/health/live`, is {floor / limit:F2}x the in-process limit in rows, so HTTP alone does not keep one-row requests below 0.5x it; 16-row requests reach {rows16 / limit:F3}x as JSON and {binary16 / limit:F3}x as binary tensor data.");
        File.WriteAllText(outPath, md.ToString());
    }

    private static Dictionary<string, string> Parse(string line) =>
        line.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(p => p.Split('=', 2)).Where(p => p.Length == 2).ToDictionary(p => p[0], p => p[1]);

    private static string CpuModel()
    {
        try
        {
            return File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "CPU model unknown";
        }
        catch (IOException) { return "CPU model unknown"; }
    }
}

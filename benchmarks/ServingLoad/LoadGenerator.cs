using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text;

namespace AllReduceNet.Serving.LoadBenchmarks;

/// <summary>What to send: where, which body, how many connections, for how long, at what rate, how many bad requests.</summary>
/// <param name="BaseUrl">The server, e.g. http://127.0.0.1:18480.</param>
/// <param name="Path">The infer path of good requests.</param>
/// <param name="Body">The body of good requests (JSON).</param>
/// <param name="Connections">Most connections open at once.</param>
/// <param name="Seconds">How long requests are sent.</param>
/// <param name="Rate">Requests per second, open loop; 0 for a closed loop (each connection sends its next request when the last is answered).</param>
/// <param name="BadEvery">Every Nth request is a bad one (0: none).</param>
/// <param name="NewVersion">The version a hot load switches to: answers of other versions to requests sent after its first answer are counted as stale.</param>
internal sealed record LoadOptions(Uri BaseUrl, string Path, byte[] Body, int Connections, double Seconds, double Rate, int BadEvery, string? NewVersion);

/// <summary>
/// A load generator for the serving runs that wrk cannot do: an open loop at a fixed rate, with latency counted from
/// each request's scheduled send time so that a stalled server is charged for the requests it delayed (no
/// coordinated omission, as wrk2 does it); and bad requests mixed in with every answer checked against what was sent.
/// Good answers are compared by content: one input gives one answer per model version.
/// </summary>
internal sealed class LoadGenerator(LoadOptions options)
{
    private static readonly MediaTypeHeaderValue JsonType = new("application/json");
    private static readonly byte[] VersionKey = "\"model_version\":\""u8.ToArray();

    /// <summary>Bad requests of every kind the server must answer with a 4xx: (kind, path, body, content type).</summary>
    private readonly (string Kind, string Path, byte[] Body, string ContentType)[] _badRequests =
    [
        ("malformed JSON", options.Path, "{\"inputs\": [{\"name\": \"input\", "u8.ToArray(), "application/json"),
        ("wrong shape", options.Path, Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(options.Body).Replace(",784]", ",783]", StringComparison.Ordinal)), "application/json"),
        ("NaN", options.Path, Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(options.Body).Replace("\"data\":[", "\"data\":[\"NaN\",", StringComparison.Ordinal)), "application/json"),
        ("wrong datatype", options.Path, Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(options.Body).Replace("FP32", "INT32", StringComparison.Ordinal)), "application/json"),
        ("unknown model", "/v2/models/no-such-model/infer", options.Body, "application/json"),
        ("not JSON", options.Path, options.Body, "text/plain"),
    ];

    private readonly ConcurrentDictionary<string, int> _answers = new(), _versions = new(), _badOther = new();
    private long _newVersionSeenAt = long.MaxValue;
    private int _good, _goodOk, _bad, _bad4xx, _errors, _stale;

    public async Task<string> RunAsync(string name)
    {
        using var handler = new SocketsHttpHandler
        {
            MaxConnectionsPerServer = options.Connections,
            UseProxy = false,
            ConnectTimeout = TimeSpan.FromSeconds(5),
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5),
        };
        using var client = new HttpClient(handler) { BaseAddress = options.BaseUrl, Timeout = TimeSpan.FromSeconds(10) };
        var started = Stopwatch.StartNew();
        long[] latencies = options.Rate > 0 ? await OpenLoopAsync(client) : await ClosedLoopAsync(client);
        double seconds = started.Elapsed.TotalSeconds;
        Array.Sort(latencies);
        double Ms(double percent) => Timing.Percentile(latencies, percent) * 1000.0 / Stopwatch.Frequency;
        string Counts(ConcurrentDictionary<string, int> counts) =>
            counts.IsEmpty ? "-" : string.Join(",", counts.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => $"{p.Key.Replace(' ', '_')}:{p.Value}"));
        return string.Create(CultureInfo.InvariantCulture,
            $"name={name} mode={(options.Rate > 0 ? "open" : "closed")} connections={options.Connections} target_rps={options.Rate:F0} " +
            $"seconds={seconds:F1} requests={latencies.Length} rps={latencies.Length / options.Seconds:F1} " +
            $"p50_ms={Ms(50):F3} p90_ms={Ms(90):F3} p99_ms={Ms(99):F3} max_ms={(latencies.Length == 0 ? double.NaN : latencies[^1] * 1000.0 / Stopwatch.Frequency):F3} " +
            $"good={_good} good_ok={_goodOk} good_failed={_good - _goodOk} bad={_bad} bad_4xx={_bad4xx} bad_other={_bad - _bad4xx} bad_other_codes={Counts(_badOther)} " +
            $"errors={_errors} distinct_good_answers={_answers.Count} versions={Counts(_versions)} stale_after_switch={_stale}");
    }

    /// <summary>Seconds of an open loop run at the target rate before the measured ones, not counted: the generator's
    /// own start (its JIT, the thread pool growing, 64 connections being opened) would otherwise be charged to the
    /// server's tail, as wrk2 excludes its calibration period. Seen without it: p99 257 ms at 500 req/s, where p50 was 4 ms.</summary>
    internal static double WarmUpSeconds(double seconds) => Math.Min(5, seconds / 3);

    /// <summary>Sends request i at start + i / rate, whether or not earlier ones were answered; the warm-up's requests
    /// go out at the same rate first and are not timed.</summary>
    private async Task<long[]> OpenLoopAsync(HttpClient client)
    {
        long warmUp = (long)(options.Rate * WarmUpSeconds(options.Seconds));
        long total = warmUp + (long)(options.Rate * options.Seconds);
        var latencies = new long[total];
        var inFlight = new Task[total];
        long start = Stopwatch.GetTimestamp();
        for (long i = 0; i < total; i++)
        {
            long due = start + (long)(i * Stopwatch.Frequency / options.Rate);
            // Timers tick about every millisecond: requests that fell due meanwhile go out together, each still timed from its due time.
            while (Stopwatch.GetTimestamp() < due) await Task.Delay(1);
            long index = i;
            inFlight[i] = Task.Run(async () => latencies[index] = await SendAsync(client, index, due));
        }
        await Task.WhenAll(inFlight);
        return latencies[(int)warmUp..];
    }

    /// <summary>Each of the connections sends its next request as soon as its last one was answered, as wrk does.</summary>
    private async Task<long[]> ClosedLoopAsync(HttpClient client)
    {
        long next = -1;
        long end = Stopwatch.GetTimestamp() + (long)(options.Seconds * Stopwatch.Frequency);
        var perConnection = await Task.WhenAll(Enumerable.Range(0, options.Connections).Select(_ => Task.Run(async () =>
        {
            var latencies = new List<long>();
            while (Stopwatch.GetTimestamp() < end)
            {
                long index = Interlocked.Increment(ref next);
                latencies.Add(await SendAsync(client, index, Stopwatch.GetTimestamp()));
            }
            return latencies;
        })));
        return perConnection.SelectMany(l => l).ToArray();
    }

    /// <summary>Sends request <paramref name="index"/> (bad when the mix says so), checks its answer, returns its latency in ticks from <paramref name="due"/>.</summary>
    private async Task<long> SendAsync(HttpClient client, long index, long due)
    {
        bool bad = options.BadEvery > 0 && index % options.BadEvery == options.BadEvery - 1;
        var (path, body, contentType) = bad
            ? (_badRequests[index / options.BadEvery % _badRequests.Length].Path, _badRequests[index / options.BadEvery % _badRequests.Length].Body, _badRequests[index / options.BadEvery % _badRequests.Length].ContentType)
            : (options.Path, options.Body, "application/json");
        long sent = Stopwatch.GetTimestamp();
        Interlocked.Increment(ref bad ? ref _bad : ref _good);
        try
        {
            using var content = new ByteArrayContent(body);
            content.Headers.ContentType = contentType == "application/json" ? JsonType : new MediaTypeHeaderValue(contentType);
            using var response = await client.PostAsync(path, content);
            byte[] answer = await response.Content.ReadAsByteArrayAsync();
            int status = (int)response.StatusCode;
            if (bad)
            {
                if (status is >= 400 and < 500) Interlocked.Increment(ref _bad4xx);
                else _badOther.AddOrUpdate(status.ToString(CultureInfo.InvariantCulture), 1, (_, n) => n + 1);
            }
            else if (status == 200)
            {
                Interlocked.Increment(ref _goodOk);
                Record(answer, sent);
            }
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or IOException)
        {
            Interlocked.Increment(ref _errors);
        }
        return Stopwatch.GetTimestamp() - due;
    }

    private void Record(byte[] answer, long sent)
    {
        _answers.AddOrUpdate(Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(answer), 0, 8), 1, (_, n) => n + 1);
        int at = answer.AsSpan().IndexOf(VersionKey);
        if (at < 0) return;
        var rest = answer.AsSpan(at + VersionKey.Length);
        string version = Encoding.UTF8.GetString(rest[..Math.Max(0, rest.IndexOf((byte)'"'))]);
        _versions.AddOrUpdate(version, 1, (_, n) => n + 1);
        if (options.NewVersion is null) return;
        if (version == options.NewVersion)
        {
            long now = Stopwatch.GetTimestamp();
            long seen = Interlocked.Read(ref _newVersionSeenAt);
            while (now < seen && Interlocked.CompareExchange(ref _newVersionSeenAt, now, seen) != seen) seen = Interlocked.Read(ref _newVersionSeenAt);
        }
        // Sent after an answer of the new version had arrived, so looked up after the switch: must not be the old one.
        else if (sent > Interlocked.Read(ref _newVersionSeenAt)) Interlocked.Increment(ref _stale);
    }
}

// Cost of one secure aggregation round, in-process: seconds per stage (clients in parallel, then the server), bytes per
// client against the plain update, and the mask expansion rate. Usage:
//   dotnet run -c Release --project benchmarks/SecureAggregation -- --clients 100 --params 235146 --neighbors 0,16 --dropout 0,0.2 --rounds 2
// --neighbors 0 is full SecAgg; k > 0 is SecAgg+ with k neighbours. --dropout P drops each client with probability P
// before the masked-input stage. t is the smallest safe threshold (more than half
// of each client's share group) unless --threshold is given.
using System.Diagnostics;
using System.Globalization;
using AllReduceNet.Kernels;
using AllReduceNet.Privacy.SecureAggregation;

var options = ParseArgs(args);
int clients = options.GetInt("clients", 100);
int parameters = options.GetInt("params", 235146);
int rounds = options.GetInt("rounds", 2);
var neighbourList = options.GetList("neighbors", "0,16").Select(int.Parse).ToArray();
var dropoutList = options.GetList("dropout", "0").Select(s => double.Parse(s, CultureInfo.InvariantCulture)).ToArray();
int? fixedThreshold = options.ContainsKey("threshold") ? options.GetInt("threshold", 0) : null;

Console.WriteLine($"# secure aggregation: {clients} clients x {parameters} parameters, {rounds} rounds each (first is warm-up when rounds > 1), {Environment.ProcessorCount} cores");
Console.WriteLine($"# load average at start: {(File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Trim() : "n/a")} (the machine is shared; 'round CPU s' is this process's CPU time, less sensitive to load)");
Console.WriteLine($"# plain update: {4L * parameters} bytes (32-bit words)");
Console.WriteLine("| mode | k | t | dropout | survivors U1/U2/U3/U4 | advertise s | share keys s | masked input s | unmasking s | round s | CPU s per stage | round CPU s | sent/participating client bytes | received/participating client bytes | expansion (sent / plain) |");
Console.WriteLine("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");

var random = new Random(1);
var format = FixedPointFormat.ForClients(1f, clients);
var floats = new float[parameters];
var inputs = new uint[clients][];
for (int c = 0; c < clients; c++)
{
    for (int k = 0; k < parameters; k++) floats[k] = (float)(random.NextDouble() * 2 - 1);
    inputs[c] = SecAggClient.Quantize(floats, format);
}

foreach (int k in neighbourList)
{
    foreach (double dropout in dropoutList)
    {
        int group = k > 0 && k + 1 < clients ? k + (k & 1) + 1 : clients;
        int threshold = fixedThreshold ?? group / 2 + 1;
        var settings = new SecureAggregationSettings(parameters, threshold, format, k > 0 ? k : null);
        var secAggClients = Enumerable.Range(0, clients).Select(i => new SecAggClient(i, settings)).ToArray();
        SecureAggregationRoundReport? last = null;
        double cpuSeconds = 0;
        for (int round = 0; round < rounds; round++)
        {
            var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
            // Dropouts before the masked input: the costly case, where the server rebuilds each dropout's mask key and strips
            // its pairwise masks from every surviving neighbour's input.
            var plan = dropout > 0 ? DropoutPlan.Random(dropout, seed: 1000 + round, SecAggStage.MaskedInput) : DropoutPlan.None;
            var report = InMemorySecureAggregation.RunRound(settings, secAggClients, inputs, round, (ulong)round, plan);
            if (!report.Succeeded) Console.WriteLine($"# round {round} aborted: {report.Abort!.Message}");
            else Verify(report, inputs);
            last = report;
            cpuSeconds = (Process.GetCurrentProcess().TotalProcessorTime - cpuBefore).TotalSeconds;
        }
        var r = last!;
        double[] stage = Enumerable.Range(0, 4).Select(s => r.ClientSeconds[s] + r.ServerSeconds[s]).ToArray();
        // Per client that took part in each stage (a client that dropped early sent less, and would lower an average over all).
        double sent = Enumerable.Range(0, r.SurvivorsByStage.Length).Sum(s => r.ClientBytesSent[s] / (double)Math.Max(1, r.SurvivorsByStage[s]));
        double received = Enumerable.Range(0, r.SurvivorsByStage.Length).Sum(s => r.ClientBytesReceived[s] / (double)Math.Max(1, s == 0 ? clients : r.SurvivorsByStage[s - 1]));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"| {(k > 0 ? "SecAgg+" : "SecAgg")} | {(k > 0 ? settings.Neighbors.ToString() : "all")} | {threshold} | {dropout} | {string.Join("/", r.SurvivorsByStage)} | {stage[0]:F2} | {stage[1]:F2} | {stage[2]:F2} | {stage[3]:F2} | {r.TotalSeconds:F2} | {string.Join("/", r.CpuSeconds.Select(c => c.ToString("F2", CultureInfo.InvariantCulture)))} | {cpuSeconds:F2} | {sent:F0} | {received:F0} | {sent / (4.0 * parameters):F4}x |"));
        foreach (var c in secAggClients) c.Dispose();
    }
}

// Mask expansion alone, through the kernels' public entry (the same AVX2 Philox path the protocol uses): one vector of
// the parameter count masked with 99 peers, what one full-SecAgg client adds.
{
    using var backend = KernelBackends.Create("cpu");
    using var update = backend.Upload<float>(floats);
    using var masked = backend.Upload<int>(new int[parameters]);
    var seeds = Enumerable.Range(0, clients).Select(i => Seed128.FromUInt64((ulong)i * 7919, 17)).ToArray();
    backend.QuantizeAndMask(update, masked, 0, seeds, format);
    var stopwatch = Stopwatch.StartNew();
    const int trials = 3;
    for (int trial = 0; trial < trials; trial++) backend.QuantizeAndMask(update, masked, trial, seeds, format);
    double words = (double)trials * (clients - 1) * parameters;
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"# mask expansion (AVX2 Philox, {Environment.ProcessorCount} threads): {words / stopwatch.Elapsed.TotalSeconds / 1e9:F2} G words/s ({words:E2} words in {stopwatch.Elapsed.TotalSeconds:F2} s)"));
}

static void Verify(SecureAggregationRoundReport report, uint[][] inputs)
{
    var expected = new uint[inputs[0].Length];
    foreach (int id in report.Result!.Survivors)
        for (int k = 0; k < expected.Length; k++) expected[k] = unchecked(expected[k] + inputs[id][k]);
    if (!expected.AsSpan().SequenceEqual(report.Result.Sum)) throw new InvalidOperationException("secure sum differs from the plain sum of the survivors' inputs");
}

static Dictionary<string, string> ParseArgs(string[] args)
{
    var map = new Dictionary<string, string>();
    for (int i = 0; i < args.Length; i++)
    {
        if (!args[i].StartsWith("--", StringComparison.Ordinal) || i + 1 >= args.Length) throw new ArgumentException($"expected --name value, got '{args[i]}'");
        map[args[i][2..]] = args[++i];
    }
    return map;
}

internal static class OptionsExtensions
{
    public static int GetInt(this Dictionary<string, string> map, string name, int fallback) =>
        map.TryGetValue(name, out var v) ? int.Parse(v, CultureInfo.InvariantCulture) : fallback;

    public static string[] GetList(this Dictionary<string, string> map, string name, string fallback) =>
        (map.TryGetValue(name, out var v) ? v : fallback).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
}

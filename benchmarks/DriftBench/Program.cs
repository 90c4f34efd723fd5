using System.Diagnostics;
using System.Globalization;
using AllReduceNet.Serving.Drift;
using AllReduceNet.Serving.DriftBenchmarks;
using AllReduceNet.Training.Checkpoints;
using AllReduceNet.Training.Data;
using AllReduceNet.Training.Reference;

// DriftBench: the drift detectors of Serve.dll (DriftDetector, the same code the server runs per window) on seeded
// request streams drawn from the Fashion-MNIST test set, in-process, without HTTP.
//   1. False alarms: --streams streams of --stream-rows rows with no shift; every window (--window rows every --step)
//      is tested; the share of windows on which each test alarmed.
//   2. Detection delay: --shift-seeds streams per kind of shift, clean for --clean-rows rows then shifted; windows every
//      --delay-step rows; the delay is the rows streamed after the shift until a test's first alarm.
// Usage: dotnet DriftBench.dll --model DIR (model.ckpt, preprocess.json, reference.json) [--data DIR] [--streams 100]
//        [--stream-rows 2000] [--window 500] [--step 250] [--shift-seeds 20] [--clean-rows 1000] [--delay-step 50] [--max-delay 1500]
var arguments = new Dictionary<string, string>(StringComparer.Ordinal);
for (int i = 0; i + 1 < args.Length; i += 2)
{
    if (!args[i].StartsWith("--", StringComparison.Ordinal)) { Console.Error.WriteLine($"DriftBench: unexpected argument '{args[i]}'"); return 2; }
    arguments[args[i][2..]] = args[i + 1];
}
string Arg(string name, string fallback) => arguments.TryGetValue(name, out var v) ? v : fallback;
int Int(string name, int fallback) => int.Parse(Arg(name, fallback.ToString(CultureInfo.InvariantCulture)), CultureInfo.InvariantCulture);
if (!arguments.TryGetValue("model", out var modelDirectory)) { Console.Error.WriteLine("DriftBench: --model DIR is required (a version directory from Train.dll --export-model)"); return 2; }
int streams = Int("streams", 100), streamRows = Int("stream-rows", 2000), window = Int("window", 500), step = Int("step", 250);
int shiftSeeds = Int("shift-seeds", 20), cleanRows = Int("clean-rows", 1000), delayStep = Int("delay-step", 50), maxDelay = Int("max-delay", 1500);

var checkpoint = CheckpointFile.Read(Path.Combine(modelDirectory, "model.ckpt"));
var preprocess = Preprocessing.Read(Path.Combine(modelDirectory, Preprocessing.FileName));
var reference = ReferenceStatistics.Read(Path.Combine(modelDirectory, ReferenceStatistics.FileName));
string data = Arg("data", FashionMnist.DefaultDirectory);
var (pixels, count, features) = IdxReader.ReadImages(Path.Combine(data, "t10k-images-idx3-ubyte.gz"));
var labels = IdxReader.ReadLabels(Path.Combine(data, "t10k-labels-idx1-ubyte.gz"));
// IdxReader scales bytes to [0, 1]; clients send the raw bytes.
for (int i = 0; i < pixels.Length; i++) pixels[i] = MathF.Round(pixels[i] * 255);
var options = new DriftOptions { Window = window, Step = step };
using var detector = new DriftDetector(reference, checkpoint, preprocess, options);
Console.WriteLine($"DriftBench: model {modelDirectory} ({string.Join(",", checkpoint.LayerSizes)}, validation accuracy {reference.ValidationAccuracy:F4}); {count} test images; " +
    $"window {window}, feature test {options.ChosenFeatureTest} (KS p<{options.KsPValue}, Wasserstein>{options.WassersteinThreshold}, PSI>{options.PsiThreshold}, share>={options.DriftShare}), " +
    $"MMD p<{options.MmdPValue} ({options.Permutations} permutations), prediction p<{options.PredictionPValue}");

string[] tests = ["ks", "wasserstein", "psi", "mmd", "prediction", "any"];
bool[] Alarms(DriftReport r) =>
[
    r.KsDrifted >= options.DriftShare * r.Features, r.WassersteinDrifted >= options.DriftShare * r.Features, r.PsiDrifted >= options.DriftShare * r.Features,
    r.MultivariateDrift, r.PredictionDrift, r.Drift,
];

// 1. No shift.
var clock = Stopwatch.StartNew();
var falseAlarms = new long[tests.Length];
long windows = 0;
for (int s = 0; s < streams; s++)
{
    var random = new Random(1000 + s);
    var stream = new float[(long)streamRows * features];
    for (int r = 0; r < streamRows; r++) pixels.AsSpan(random.Next(count) * features, features).CopyTo(stream.AsSpan(r * features));
    for (int end = window; end <= streamRows; end += step)
    {
        var report = detector.Evaluate(stream.AsSpan((end - window) * features, window * features), window, seed: s * 100_003 + end);
        var alarms = Alarms(report);
        for (int t = 0; t < tests.Length; t++) if (alarms[t]) falseAlarms[t]++;
        windows++;
    }
}
Console.WriteLine();
Console.WriteLine($"## No shift: {streams} streams x {streamRows} rows, {windows} windows ({clock.Elapsed.TotalSeconds:F0} s)");
Console.WriteLine();
Console.WriteLine("| test | windows alarmed | false alarm rate |");
Console.WriteLine("|---|---:|---:|");
for (int t = 0; t < tests.Length; t++) Console.WriteLine($"| {tests[t]} | {falseAlarms[t]} / {windows} | {100.0 * falseAlarms[t] / windows:F2}% |");

// 2. Shifts: clean rows, then shifted rows; windows every delayStep rows once the shift is inside the window.
var byClass = Enumerable.Range(0, 10).Select(c => Enumerable.Range(0, count).Where(i => labels[i] == c).ToArray()).ToArray();
(string Name, Func<Random, int, float[]> Draw)[] kinds =
[
    ("brightness +40, contrast 0.7", (random, _) => Shifts.BrightnessContrast(Image(random.Next(count)), 0.7, 40)),
    ("brightness +10, contrast 0.9 (mild)", (random, _) => Shifts.BrightnessContrast(Image(random.Next(count)), 0.9, 10)),
    ("rotation 20 degrees", (random, _) => Shifts.Rotate(Image(random.Next(count)), 20)),
    ("class prior: 80% of rows from classes 0-4", (random, _) => Image(DrawWithPrior(random))),
];
ReadOnlySpan<float> ImageSpan(int index) => pixels.AsSpan(index * features, features);
float[] Image(int index) => ImageSpan(index).ToArray();
int DrawWithPrior(Random random)
{
    int cls = random.NextDouble() < 0.8 ? random.Next(5) : 5 + random.Next(5);
    return byClass[cls][random.Next(byClass[cls].Length)];
}

Console.WriteLine();
Console.WriteLine($"## Detection delay: {shiftSeeds} streams per shift, {cleanRows} clean rows then the shift; a window of {window} every {delayStep} rows; " +
    $"delay = rows after the shift until the first alarm (median, 90th percentile, max; 'missed' = no alarm within {maxDelay} rows)");
Console.WriteLine();
Console.WriteLine($"| shift | {string.Join(" | ", tests)} |");
Console.WriteLine($"|---|{string.Concat(tests.Select(_ => "---:|"))}");
foreach (var (name, draw) in kinds)
{
    var delays = tests.Select(_ => new List<int>()).ToArray();
    var missed = new int[tests.Length];
    for (int s = 0; s < shiftSeeds; s++)
    {
        var random = new Random(5000 + s);
        int total = cleanRows + maxDelay;
        var stream = new float[(long)total * features];
        for (int r = 0; r < total; r++)
        {
            if (r < cleanRows) ImageSpan(random.Next(count)).CopyTo(stream.AsSpan(r * features));
            else draw(random, r).CopyTo(stream.AsSpan(r * features));
        }
        var first = new int?[tests.Length];
        for (int end = cleanRows + delayStep; end <= total && first.Any(f => f is null); end += delayStep)
        {
            var report = detector.Evaluate(stream.AsSpan((end - window) * features, window * features), window, seed: s * 100_003 + end);
            var alarms = Alarms(report);
            for (int t = 0; t < tests.Length; t++) if (alarms[t] && first[t] is null) first[t] = end - cleanRows;
        }
        for (int t = 0; t < tests.Length; t++)
            if (first[t] is int d) delays[t].Add(d); else missed[t]++;
    }
    string Cell(int t)
    {
        if (delays[t].Count == 0) return $"missed {missed[t]}/{shiftSeeds}";
        var sorted = delays[t].Order().ToArray();
        string text = $"{sorted[sorted.Length / 2]} / {sorted[(int)Math.Min(sorted.Length - 1, Math.Ceiling(0.9 * sorted.Length) - 1)]} / {sorted[^1]}";
        return missed[t] > 0 ? $"{text} (missed {missed[t]}/{shiftSeeds})" : text;
    }
    Console.WriteLine($"| {name} | {string.Join(" | ", Enumerable.Range(0, tests.Length).Select(Cell))} |");
}
Console.WriteLine();
Console.WriteLine($"total {clock.Elapsed.TotalSeconds:F0} s");
return 0;

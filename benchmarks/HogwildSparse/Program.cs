using System.Diagnostics;
using System.Globalization;
using AllReduceNet.Benchmarks.HogwildSparse;
using AllReduceNet.Training.Data;

// HogwildSparse: Hogwild (Niu et al. 2011) where it shines, a sparse linear model. Fashion-MNIST images become hashed
// sparse features (FeatureHasher: pixel-intensity buckets and pooled pixel-pair co-occurrences in 2^bits slots, a few
// hundred non-zeros per example); 10-class logistic regression is trained by SGD on one shared weight vector by
// 1 thread (sequential), and by each --threads count without locks (hogwild), with one lock per step, and with
// striped locks per feature slot, in the same run. Prints one markdown table: samples/s and test accuracy.
// Usage: dotnet HogwildSparse.dll [--data DIR] [--epochs 5] [--threads 1,2,4,8] [--bits 18] [--lr 0.5] [--decay 0.9] [--seed 1]
var arguments = new Dictionary<string, string>(StringComparer.Ordinal);
string[] known = ["data", "epochs", "threads", "bits", "lr", "decay", "seed"];
for (int i = 0; i < args.Length; i += 2)
{
    string name = args[i].StartsWith("--", StringComparison.Ordinal) ? args[i][2..] : "";
    if (!known.Contains(name)) { Console.Error.WriteLine($"HogwildSparse: unknown argument '{args[i]}' (known: --{string.Join(", --", known)})"); return 2; }
    if (i + 1 >= args.Length) { Console.Error.WriteLine($"HogwildSparse: {args[i]} needs a value"); return 2; }
    arguments[name] = args[i + 1];
}
string Arg(string name, string fallback) => arguments.TryGetValue(name, out var v) ? v : fallback;
T Parse<T>(string name, string fallback) where T : IParsable<T>
{
    string text = Arg(name, fallback);
    if (T.TryParse(text, CultureInfo.InvariantCulture, out var value)) return value;
    throw new ArgumentException($"--{name} '{text}' is not a valid {typeof(T).Name}.");
}

try
{
    int epochs = Parse<int>("epochs", "5"), bits = Parse<int>("bits", "18"), seed = Parse<int>("seed", "1");
    float learningRate = Parse<float>("lr", "0.5"), decay = Parse<float>("decay", "0.9");
    int[] threadCounts = [.. Arg("threads", "1,2,4,8").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
        .Select(t => int.TryParse(t, CultureInfo.InvariantCulture, out int n) && n >= 1 ? n : throw new ArgumentException($"--threads: '{t}' is not a thread count of at least 1."))];
    if (epochs < 1) throw new ArgumentException($"--epochs must be at least 1, not {epochs}.");
    string data = Arg("data", FashionMnist.DefaultDirectory);

    var clock = Stopwatch.StartNew();
    var hasher = new FeatureHasher(bits);
    HashedFeatures Load(string prefix)
    {
        var (pixels, count, perImage) = IdxReader.ReadImages(Path.Combine(data, $"{prefix}-images-idx3-ubyte.gz"));
        int[] labels = IdxReader.ReadLabels(Path.Combine(data, $"{prefix}-labels-idx1-ubyte.gz"));
        if (perImage != FeatureHasher.Side * FeatureHasher.Side || labels.Length != count)
            throw new ArgumentException($"{data}/{prefix}-*: {count} images of {perImage} pixels and {labels.Length} labels; expected 28x28 images, one label each.");
        return hasher.Hash(pixels, labels);
    }
    var train = Load("train");
    var test = Load("t10k");
    double touched = train.MeanNonZeros * SoftmaxRegression.Classes / ((double)train.SlotCount * SoftmaxRegression.Classes);
    Console.WriteLine($"HogwildSparse: Fashion-MNIST from {data}, {train.Count} train / {test.Count} test, hashed into 2^{bits} slots x " +
        $"{SoftmaxRegression.Classes} classes = {train.SlotCount * SoftmaxRegression.Classes} weights; {train.MeanNonZeros:F0} non-zeros per example " +
        $"({touched:P3} of the weights touched per update); featurized in {clock.Elapsed.TotalSeconds:F1} s; {Environment.ProcessorCount} cores; " +
        $"{epochs} epochs, lr {learningRate} x {decay}^epoch, seed {seed}");

    var runs = new List<(UpdateMode Mode, int Threads)> { (UpdateMode.Sequential, 1) };
    foreach (var mode in new[] { UpdateMode.Hogwild, UpdateMode.OneLock, UpdateMode.StripedLocks })
        foreach (int threads in threadCounts) runs.Add((mode, threads));

    Console.WriteLine();
    Console.WriteLine("| mode | threads | test accuracy | samples/s | vs sequential | train s |");
    Console.WriteLine("|---|---|---|---|---|---|");
    double sequentialRate = 0;
    foreach (var (mode, threads) in runs)
    {
        var trainer = new SparseSgdTrainer(mode, threads, learningRate, decay, seed);
        var (weights, seconds) = trainer.Train(train, epochs);
        double rate = (double)train.Count * epochs / seconds;
        if (mode == UpdateMode.Sequential) sequentialRate = rate;
        double accuracy = SoftmaxRegression.Accuracy(weights, test);
        string name = mode switch { UpdateMode.OneLock => "one lock", UpdateMode.StripedLocks => $"striped locks ({SparseSgdTrainer.Stripes})", _ => mode.ToString().ToLowerInvariant() };
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {name} | {threads} | {accuracy * 100:F2}% | {rate:F0} | {rate / sequentialRate:F2}x | {seconds:F2} |"));
    }
    return 0;
}
catch (Exception e) when (e is ArgumentException or IOException or AllReduceNet.Training.TrainingException)
{
    Console.Error.WriteLine($"HogwildSparse: {e.Message}");
    return 2;
}

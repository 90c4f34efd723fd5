using System.Diagnostics;

namespace AllReduceNet.Benchmarks.HogwildSparse;

/// <summary>
/// Trains <see cref="SoftmaxRegression"/> by SGD on one shared weight vector with 1..N threads. Each epoch the examples
/// are shuffled (seeded) and thread t takes the t-th contiguous share of that order, so one thread in any mode visits
/// the examples in exactly the order of <see cref="UpdateMode.Sequential"/>. The step size is
/// <c>learningRate x decay^epoch</c>, the paper's schedule.
/// </summary>
internal sealed class SparseSgdTrainer
{
    public const int Stripes = 1024;

    // A thread that has not finished by then is stuck, not slow: one epoch of 60,000 examples takes about a second.
    private static readonly TimeSpan EpochTimeout = TimeSpan.FromMinutes(10);

    private readonly object _oneLock = new();
    private readonly object[] _stripes = Enumerable.Range(0, Stripes).Select(_ => new object()).ToArray();

    public SparseSgdTrainer(UpdateMode mode, int threads, float learningRate, float decay, int seed)
    {
        if (threads < 1) throw new ArgumentOutOfRangeException(nameof(threads), threads, "threads must be at least 1.");
        if (mode == UpdateMode.Sequential && threads != 1)
            throw new ArgumentException($"the sequential mode runs on 1 thread, not {threads}.", nameof(threads));
        if (!(learningRate > 0)) throw new ArgumentOutOfRangeException(nameof(learningRate), learningRate, "the learning rate must be positive.");
        if (!(decay > 0 && decay <= 1)) throw new ArgumentOutOfRangeException(nameof(decay), decay, "the per-epoch decay must be in (0, 1].");
        Mode = mode;
        Threads = threads;
        LearningRate = learningRate;
        Decay = decay;
        Seed = seed;
    }

    public UpdateMode Mode { get; }
    public int Threads { get; }
    public float LearningRate { get; }
    public float Decay { get; }
    public int Seed { get; }

    /// <summary>Trains <paramref name="epochs"/> epochs from zero weights; returns the weights and the seconds spent training.</summary>
    public (float[] Weights, double Seconds) Train(HashedFeatures data, int epochs)
    {
        var weights = new float[(long)data.SlotCount * SoftmaxRegression.Classes];
        var clock = new Stopwatch();
        for (int epoch = 0; epoch < epochs; epoch++)
        {
            int[] order = Shuffled(data.Count, Seed + epoch);
            float learningRate = LearningRate * MathF.Pow(Decay, epoch);
            clock.Start();
            if (Mode == UpdateMode.Sequential)
                foreach (int e in order) SoftmaxRegression.Step(weights, data, e, learningRate);
            else
                RunThreads(weights, data, order, learningRate, epoch);
            clock.Stop();
        }
        return (weights, clock.Elapsed.TotalSeconds);
    }

    private void RunThreads(float[] weights, HashedFeatures data, int[] order, float learningRate, int epoch)
    {
        var failures = new Exception?[Threads];
        var threads = new Thread[Threads];
        for (int t = 0; t < Threads; t++)
        {
            int index = t, start = (int)((long)order.Length * t / Threads), end = (int)((long)order.Length * (t + 1) / Threads);
            threads[t] = new Thread(() =>
            {
                try { RunShare(weights, data, order.AsSpan(start, end - start), learningRate); }
                catch (Exception e) { failures[index] = e; }
            }) { IsBackground = true, Name = $"{Mode} thread {t}" };
        }
        foreach (var thread in threads) thread.Start();
        for (int t = 0; t < Threads; t++)
            if (!threads[t].Join(EpochTimeout))
                throw new TimeoutException($"{Mode} thread {t} of {Threads} did not finish epoch {epoch + 1} within {EpochTimeout.TotalMinutes} minutes.");
        for (int t = 0; t < Threads; t++)
            if (failures[t] is { } failure)
                throw new InvalidOperationException($"{Mode} thread {t} of {Threads} failed in epoch {epoch + 1}: {failure.Message}", failure);
    }

    private void RunShare(float[] weights, HashedFeatures data, ReadOnlySpan<int> share, float learningRate)
    {
        switch (Mode)
        {
            case UpdateMode.Hogwild:
                foreach (int e in share) SoftmaxRegression.Step(weights, data, e, learningRate);
                break;
            case UpdateMode.OneLock:
                foreach (int e in share)
                    lock (_oneLock) SoftmaxRegression.Step(weights, data, e, learningRate);
                break;
            case UpdateMode.StripedLocks:
                foreach (int e in share) StripedStep(weights, data, e, learningRate);
                break;
            default:
                throw new InvalidOperationException($"mode {Mode} does not run on threads.");
        }
    }

    private void StripedStep(float[] weights, HashedFeatures data, int example, float learningRate)
    {
        Span<float> error = stackalloc float[SoftmaxRegression.Classes];
        SoftmaxRegression.Error(weights, data, example, error);
        var slots = data.SlotsOf(example);
        var values = data.ValuesOf(example);
        for (int j = 0; j < slots.Length; j++)
        {
            int row = slots[j] * SoftmaxRegression.Classes;
            float scaled = learningRate * values[j];
            lock (_stripes[slots[j] & (Stripes - 1)])
                for (int c = 0; c < SoftmaxRegression.Classes; c++) weights[row + c] -= scaled * error[c];
        }
    }

    /// <summary>A seeded Fisher-Yates permutation of 0..count-1.</summary>
    public static int[] Shuffled(int count, int seed)
    {
        var order = new int[count];
        for (int i = 0; i < count; i++) order[i] = i;
        var random = new Random(seed);
        for (int i = count - 1; i > 0; i--)
        {
            int j = random.Next(i + 1);
            (order[i], order[j]) = (order[j], order[i]);
        }
        return order;
    }
}

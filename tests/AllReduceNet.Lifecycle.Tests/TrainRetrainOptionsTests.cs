using AllReduceNet.Training.Data;

namespace AllReduceNet.Lifecycle.Tests;

/// <summary>Train.dll's retraining options as the trainer uses them: --extra-data (with --extra-weight) and --init-from.</summary>
public sealed class TrainRetrainOptionsTests : IDisposable
{
    private readonly string _work = Directory.CreateTempSubdirectory("lifecycle-train-").FullName;
    private static readonly string[] Synthetic = ["--synthetic", "400", "--layers", "12,8,3", "--ranks", "1", "--epochs", "1", "--batch-size", "40", "--device", "cpu"];

    private string Extra(int rows, int features, int label)
    {
        string path = Path.Combine(_work, $"extra-{rows}-{features}-{label}.bin");
        var inputs = new float[rows * features];
        for (int i = 0; i < inputs.Length; i++) inputs[i] = i % 7 * 0.1f;
        File.WriteAllBytes(path, LabeledDataFile.Encode(inputs, Enumerable.Repeat(label, rows).ToArray(), features, label + 1));
        return path;
    }

    [Fact]
    public async Task Extra_data_is_added_weight_times_and_a_warm_start_continues_from_a_checkpoint()
    {
        string first = Path.Combine(_work, "first.ckpt");
        await TrainProcess.RunAsync([.. Synthetic, "--checkpoint", first], TimeSpan.FromMinutes(2));
        string output = await TrainProcess.RunAsync([.. Synthetic, "--no-checkpoint", "--extra-data", Extra(30, 12, 2), "--extra-weight", "4", "--init-from", first],
            TimeSpan.FromMinutes(2));
        Assert.Contains("plus 30 labeled rows", output);
        Assert.Contains("x 4", output);
    }

    [Theory]
    [InlineData(10, 2, "has 10 features per row")]
    [InlineData(12, 5, "labeled for 6 classes")]
    public async Task Extra_data_that_does_not_fit_is_refused_naming_the_file(int features, int label, string expected)
    {
        string path = Extra(5, features, label);
        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => TrainProcess.RunAsync([.. Synthetic, "--no-checkpoint", "--extra-data", path], TimeSpan.FromMinutes(2)));
        Assert.Contains(expected, e.Message);
        Assert.Contains(path, e.Message);
    }

    [Fact]
    public async Task Extra_weight_out_of_range_and_init_from_with_other_layers_are_refused()
    {
        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => TrainProcess.RunAsync([.. Synthetic, "--no-checkpoint", "--extra-data", Extra(5, 12, 1), "--extra-weight", "0"], TimeSpan.FromMinutes(2)));
        Assert.Contains("--extra-weight must be an integer from 1 to 1000", e.Message);
        string other = Path.Combine(_work, "other.ckpt");
        await TrainProcess.RunAsync(["--synthetic", "400", "--layers", "12,6,3", "--ranks", "1", "--epochs", "1", "--batch-size", "40", "--device", "cpu", "--checkpoint", other], TimeSpan.FromMinutes(2));
        e = await Assert.ThrowsAsync<InvalidOperationException>(() => TrainProcess.RunAsync([.. Synthetic, "--no-checkpoint", "--init-from", other], TimeSpan.FromMinutes(2)));
        Assert.Contains("--init-from", e.Message);
        Assert.Contains("12,6,3", e.Message);
    }

    public void Dispose()
    {
        try { Directory.Delete(_work, recursive: true); }
        catch (IOException) { }
    }
}

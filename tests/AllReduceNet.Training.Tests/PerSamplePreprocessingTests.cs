using AllReduceNet.Training.Checkpoints;
using AllReduceNet.Training.Onnx;

namespace AllReduceNet.Training.Tests;

/// <summary>--normalize per-sample: each row by its own mean and deviation, as preprocess.json "per_sample" (docs/lifecycle.md).</summary>
public sealed class PerSamplePreprocessingTests
{
    private const int Features = 784;

    private static float[] RandomImages(int rows, int seed)
    {
        var random = new Random(seed);
        var pixels = new float[rows * Features];
        for (int i = 0; i < pixels.Length; i++) pixels[i] = random.Next(256);
        return pixels;
    }

    [Fact]
    public void Each_row_gets_mean_0_and_deviation_1_and_a_brightness_contrast_shift_changes_nothing()
    {
        var clean = RandomImages(3, seed: 7);
        // The lifecycle benchmark's shift: x' = 0.5 x + 100.
        var shifted = clean.Select(x => 0.5f * x + 100f).ToArray();
        Preprocessing.PerSampleOfBytes.Apply(clean, Features);
        Preprocessing.PerSampleOfBytes.Apply(shifted, Features);
        for (int r = 0; r < 3; r++)
        {
            var row = clean.AsSpan(r * Features, Features).ToArray();
            Assert.Equal(0, row.Average(), 4);
            Assert.Equal(1, Math.Sqrt(row.Select(v => (double)v * v).Average()), 4);
        }
        for (int i = 0; i < clean.Length; i++) Assert.Equal(clean[i], shifted[i], 4);
    }

    [Fact]
    public void A_blank_row_becomes_zeros_and_the_row_length_is_required()
    {
        var blank = Enumerable.Repeat(37f, 2 * Features).ToArray();
        Preprocessing.PerSampleOfBytes.Apply(blank, Features);
        Assert.All(blank, v => Assert.Equal(0f, v, 6));
        Assert.Throws<InvalidOperationException>(() => Preprocessing.PerSampleOfBytes.Apply(new float[Features]));
        var e = Assert.Throws<ArgumentException>(() => Preprocessing.PerSampleOfBytes.Apply(new float[Features + 1], Features));
        Assert.Contains("not a whole number of rows", e.Message);
    }

    [Fact]
    public void The_flag_round_trips_through_preprocess_json_and_a_bad_one_is_refused()
    {
        using var dir = new TempDirectory();
        string path = dir.File(Preprocessing.FileName);
        Preprocessing.PerSampleOfBytes.Write(path);
        Assert.Contains("\"per_sample\": true", File.ReadAllText(path));
        Assert.Equal(Preprocessing.PerSampleOfBytes, Preprocessing.Read(path));

        var global = new Preprocessing(1 / 255.0, 0.2860, 0.3530);
        global.Write(path);
        Assert.DoesNotContain("per_sample", File.ReadAllText(path));
        Assert.False(Preprocessing.Read(path).PerSample);

        File.WriteAllText(path, "{\"mean\": 0, \"deviation\": 1, \"per_sample\": \"yes\"}");
        var e = Assert.Throws<CheckpointException>(() => Preprocessing.Read(path));
        Assert.Contains("per_sample", e.Message);
    }

    [Fact]
    public void Onnx_export_refuses_a_per_sample_model()
    {
        int[] sizes = [Features, 10];
        var e = Assert.Throws<ArgumentException>(() => MlpOnnxExport.Encode(sizes, new float[Features * 10 + 10], Preprocessing.PerSampleOfBytes));
        Assert.Contains("per-sample", e.Message);
    }
}

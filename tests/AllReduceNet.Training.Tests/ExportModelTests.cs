using AllReduceNet.Training.Checkpoints;
using AllReduceNet.Training.Cli;

namespace AllReduceNet.Training.Tests;

/// <summary>--export-model writes a Serve.dll repository entry: model.ckpt and preprocess.json.</summary>
public class ExportModelTests
{
    [Fact]
    public void Export_writes_a_readable_checkpoint_and_preprocessing()
    {
        using var dir = new TempDirectory();
        string export = Path.Combine(dir.Path, "models", "tiny", "3");
        var output = new StringWriter();
        int code = TrainCommand.Run(["--synthetic", "160", "--layers", "12,8,3", "--ranks", "2", "--epochs", "1", "--batch-size", "40",
            "--device", "cpu", "--no-checkpoint", "--quiet", "--export-model", export], output, output);
        Assert.True(code == 0, output.ToString());
        var checkpoint = CheckpointFile.Read(Path.Combine(export, "model.ckpt"));
        Assert.Equal([12, 8, 3], checkpoint.LayerSizes);
        Assert.Equal(1, checkpoint.CompletedEpochs);
        // Synthetic data is used as generated: the identity.
        Assert.Equal(Preprocessing.Identity, Preprocessing.Read(Path.Combine(export, Preprocessing.FileName)));
        Assert.Contains("model exported to", output.ToString());
    }

    [Fact]
    public void Preprocessing_round_trips_and_applies_the_training_standardization()
    {
        using var dir = new TempDirectory();
        var fashion = new Preprocessing(1 / 255.0, 0.2860, 0.3530);
        fashion.Write(dir.File("preprocess.json"));
        Assert.Equal(fashion, Preprocessing.Read(dir.File("preprocess.json")));
        float[] pixels = [0, 255, 51];
        fashion.Apply(pixels);
        Assert.Equal((0 - 0.2860f) / 0.3530f, pixels[0], 5);
        Assert.Equal((1 - 0.2860f) / 0.3530f, pixels[1], 5);
        Assert.Equal((0.2f - 0.2860f) / 0.3530f, pixels[2], 5);

        File.WriteAllText(dir.File("short.json"), "{\"mean\": 0.5, \"deviation\": 2}");
        Assert.Equal(new Preprocessing(1, 0.5, 2), Preprocessing.Read(dir.File("short.json")));
        foreach (string bad in new[] { "[]", "{\"mean\": 0}", "{\"mean\": 0, \"deviation\": 0}", "{\"mean\": \"x\", \"deviation\": 1}", "not json" })
        {
            File.WriteAllText(dir.File("bad.json"), bad);
            Assert.Throws<CheckpointException>(() => Preprocessing.Read(dir.File("bad.json")));
        }
    }
}

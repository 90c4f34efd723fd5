using AllReduceNet.Kernels;
using AllReduceNet.Training.Checkpoints;
using AllReduceNet.Training.Cli;
using AllReduceNet.Training.Model;
using AllReduceNet.Training.Onnx;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace AllReduceNet.Training.Tests;

/// <summary>
/// Train.dll --export-onnx and the exporter behind it, checked with ONNX Runtime: the exported graph answers what the
/// native forward pass (Mlp on the CPU backend, then Softmax, after the preprocessing) answers, within 1e-5.
/// </summary>
public class OnnxExportTests
{
    private const float Tolerance = 1e-5f;

    /// <summary>The native answer: preprocessing, the Mlp forward pass and the Softmax kernel, as Serve.dll computes it.</summary>
    private static (float[] Probabilities, long[] Classes) Native(int[] sizes, float[] parameters, Preprocessing preprocess, float[] input, int rows)
    {
        using var backend = KernelBackends.Create("cpu");
        using var mlp = new Mlp(backend, sizes);
        mlp.WriteParameters(parameters);
        using var activations = mlp.CreateActivations(rows);
        var prepared = (float[])input.Clone();
        preprocess.Apply(prepared);
        using var x = backend.Allocate<float>(prepared.Length);
        x.CopyFrom(prepared);
        var logits = mlp.Forward(activations, x, rows);
        using var probabilities = backend.Allocate<float>(rows * sizes[^1]);
        backend.Softmax(logits, probabilities, rows, sizes[^1]);
        var p = probabilities.ToArray();
        var classes = new long[rows];
        for (int r = 0; r < rows; r++)
            classes[r] = System.Numerics.Tensors.TensorPrimitives.IndexOfMax<float>(p.AsSpan(r * sizes[^1], sizes[^1]));
        return (p, classes);
    }

    /// <summary>Runs an .onnx file on the rows: its 'probabilities' and 'class' outputs.</summary>
    private static (float[] Probabilities, long[] Classes) RunOnnx(string path, float[] input, int rows, int features)
    {
        using var session = new InferenceSession(path);
        using var tensor = OrtValue.CreateTensorValueFromMemory(input, [rows, features]);
        using var runOptions = new RunOptions();
        using var outputs = session.Run(runOptions, [MlpOnnxExport.InputName], [tensor], [MlpOnnxExport.ProbabilitiesName, MlpOnnxExport.ClassName]);
        long[] shape = outputs[0].GetTensorTypeAndShape().Shape;
        Assert.Equal(2, shape.Length);
        Assert.Equal(rows, shape[0]);
        Assert.Equal([rows], outputs[1].GetTensorTypeAndShape().Shape);
        return (outputs[0].GetTensorDataAsSpan<float>().ToArray(), outputs[1].GetTensorDataAsSpan<long>().ToArray());
    }

    private static void AssertSame((float[] Probabilities, long[] Classes) native, (float[] Probabilities, long[] Classes) onnx)
    {
        Assert.Equal(native.Probabilities.Length, onnx.Probabilities.Length);
        for (int i = 0; i < native.Probabilities.Length; i++)
            Assert.True(Math.Abs(native.Probabilities[i] - onnx.Probabilities[i]) <= Tolerance,
                $"probability {i}: native {native.Probabilities[i]} vs ONNX Runtime {onnx.Probabilities[i]}");
        Assert.Equal(native.Classes, onnx.Classes);
    }

    private static float[] Rows(int rows, int features, int seed, float scale)
    {
        var random = new Random(seed);
        var values = new float[rows * features];
        for (int i = 0; i < values.Length; i++) values[i] = (float)(random.NextDouble() * scale);
        return values;
    }

    /// <summary>Seeded random parameters with non-zero biases (a zero bias would hide a wrong bias layout).</summary>
    private static float[] RandomParameters(int[] sizes, int seed)
    {
        var layout = new ParameterLayout(sizes);
        var parameters = ParameterInitializer.Create(layout, seed);
        var random = new Random(seed);
        for (int l = 0; l < layout.LayerCount; l++)
        {
            var bias = parameters.AsSpan(layout.LayerOffset(l) + layout.WeightCount(l), sizes[l + 1]);
            for (int i = 0; i < bias.Length; i++) bias[i] = (float)(random.NextDouble() - 0.5);
        }
        return parameters;
    }

    [Theory]
    [InlineData(1)]
    [InlineData(37)]
    [InlineData(300)]
    public void Random_fashion_sized_model_with_preprocessing_matches_the_native_pass(int rows)
    {
        using var dir = new TempDirectory();
        int[] sizes = [784, 32, 16, 10];
        var parameters = RandomParameters(sizes, seed: 5);
        // Fashion-MNIST's: the graph takes raw pixels 0..255, as /predict does with preprocess.json.
        var preprocess = new Preprocessing(1 / 255.0, 0.2860, 0.3530);
        string path = dir.File("model.onnx");
        MlpOnnxExport.Write(path, new Checkpoint(sizes, 0, 5, Optim.OptimizerKind.Sgd, 0, parameters, []), preprocess);
        var pixels = Rows(rows, 784, seed: rows, scale: 255);
        AssertSame(Native(sizes, parameters, preprocess, pixels, rows), RunOnnx(path, pixels, rows, 784));
    }

    [Fact]
    public void One_layer_model_without_preprocessing_matches_and_carries_its_metadata()
    {
        using var dir = new TempDirectory();
        int[] sizes = [6, 4];
        var parameters = RandomParameters(sizes, seed: 9);
        string path = dir.File("linear.onnx");
        File.WriteAllBytes(path, MlpOnnxExport.Encode(sizes, parameters, Preprocessing.Identity));
        var input = Rows(5, 6, seed: 3, scale: 4);
        AssertSame(Native(sizes, parameters, Preprocessing.Identity, input, 5), RunOnnx(path, input, 5, 6));
        using var session = new InferenceSession(path);
        Assert.Equal("AllReduceNet Train.dll", session.ModelMetadata.ProducerName);
        Assert.Equal("6,4", session.ModelMetadata.CustomMetadataMap["allreducenet.layers"]);
    }

    [Fact]
    public void The_graph_declares_a_variable_batch_and_names_its_tensors()
    {
        using var dir = new TempDirectory();
        int[] sizes = [12, 8, 3];
        string path = dir.File("model.onnx");
        File.WriteAllBytes(path, MlpOnnxExport.Encode(sizes, RandomParameters(sizes, 1), new Preprocessing(2, 0.5, 3)));
        using var session = new InferenceSession(path);
        var input = Assert.Single(session.InputMetadata);
        Assert.Equal("input", input.Key);
        Assert.Equal(TensorElementType.Float, input.Value.ElementDataType);
        Assert.Equal([-1, 12], input.Value.Dimensions);
        Assert.Equal("batch", input.Value.SymbolicDimensions[0]);
        Assert.Equal(["probabilities", "class"], session.OutputMetadata.Keys.ToArray());
        Assert.Equal([-1, 3], session.OutputMetadata["probabilities"].Dimensions);
        Assert.Equal(TensorElementType.Int64, session.OutputMetadata["class"].ElementDataType);
        Assert.Equal([-1], session.OutputMetadata["class"].Dimensions);
    }

    [Fact]
    public void Parameters_that_do_not_fit_the_layers_are_refused()
    {
        var error = Assert.Throws<ArgumentException>(() => MlpOnnxExport.Encode([4, 3], new float[14], Preprocessing.Identity));
        Assert.Contains("14 floats", error.Message);
        Assert.Contains("need 15", error.Message);
    }

    [Fact]
    public void Train_dll_export_onnx_after_training_matches_the_trained_checkpoint()
    {
        using var dir = new TempDirectory();
        string onnx = Path.Combine(dir.Path, "repo", "tiny", "1", "model.onnx");
        var output = new StringWriter();
        int code = TrainCommand.Run(["--synthetic", "160", "--layers", "12,8,3", "--ranks", "2", "--epochs", "2", "--batch-size", "40",
            "--device", "cpu", "--checkpoint", dir.File("train.ckpt"), "--quiet", "--export-onnx", onnx], output, output);
        Assert.True(code == 0, output.ToString());
        Assert.Contains($"ONNX model written to {onnx}", output.ToString());
        var trained = CheckpointFile.Read(dir.File("train.ckpt"));
        Assert.Equal(2, trained.CompletedEpochs);
        foreach (int rows in new[] { 1, 40 })
        {
            var input = Rows(rows, 12, seed: rows, scale: 3);
            // Synthetic data is used as generated: the identity preprocessing.
            AssertSame(Native(trained.LayerSizes, trained.Parameters, Preprocessing.Identity, input, rows), RunOnnx(onnx, input, rows, 12));
        }
    }

    [Fact]
    public void Train_dll_export_onnx_with_resume_exports_a_finished_checkpoint_without_training()
    {
        using var dir = new TempDirectory();
        string checkpoint = dir.File("train.ckpt");
        string[] common = ["--synthetic", "160", "--layers", "12,8,3", "--ranks", "2", "--epochs", "1", "--batch-size", "40", "--device", "cpu", "--checkpoint", checkpoint];
        Assert.Equal(0, TrainCommand.Run([.. common, "--quiet"], TextWriter.Null, TextWriter.Null));
        var before = CheckpointFile.Read(checkpoint);

        var output = new StringWriter();
        string onnx = dir.File("exported.onnx");
        Assert.Equal(0, TrainCommand.Run([.. common, "--resume", "--export-onnx", onnx], output, output));
        Assert.DoesNotContain("epoch 1/", output.ToString());   // nothing left to train
        var after = CheckpointFile.Read(checkpoint);
        Assert.Equal(before.Parameters, after.Parameters);
        var input = Rows(9, 12, seed: 2, scale: 3);
        AssertSame(Native(before.LayerSizes, before.Parameters, Preprocessing.Identity, input, 9), RunOnnx(onnx, input, 9, 12));
    }

    [Fact]
    public void Export_onnx_to_a_directory_is_a_clear_error()
    {
        using var dir = new TempDirectory();
        var error = new StringWriter();
        int code = TrainCommand.Run(["--synthetic", "160", "--layers", "12,8,3", "--ranks", "1", "--epochs", "1", "--batch-size", "40",
            "--no-checkpoint", "--export-onnx", dir.Path], TextWriter.Null, error);
        Assert.Equal(2, code);
        Assert.Contains($"--export-onnx '{dir.Path}' is a directory", error.ToString());
    }
}

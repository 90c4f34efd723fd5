using AllReduceNet.Kernels;
using AllReduceNet.Serving;
using AllReduceNet.Training.Checkpoints;
using AllReduceNet.Training.Model;
using AllReduceNet.Training.Optim;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.TestHost;

namespace AllReduceNet.Serving.Tests;

/// <summary>A model repository of seeded random checkpoints (model "fashion" v1 and v2, model "other" v3) behind a test
/// server, every version served (--version-policy all) unless the extra arguments say otherwise.</summary>
public sealed class ServerFixture : IAsyncLifetime
{
    public static readonly int[] Sizes = [784, 16, 10];
    public const long MaxBodyBytes = 200_000;

    private readonly string[] _extraArgs;

    public ServerFixture() : this([]) { }

    /// <summary>A server started with more command-line options (batching settings).</summary>
    internal ServerFixture(string[] extraArgs) => _extraArgs = extraArgs;

    private readonly string _directory = Path.Combine(Path.GetTempPath(), "arn-serving-" + Guid.NewGuid().ToString("N"));
    private WebApplication? _app;

    public HttpClient Client { get; private set; } = null!;

    /// <summary>The running application (tests stop it to see the queues drain).</summary>
    internal WebApplication App => _app!;

    public static float[] Parameters(int seed)
    {
        var layout = new ParameterLayout(Sizes);
        var parameters = ParameterInitializer.Create(layout, seed);
        // Non-zero biases, so a wrong bias layout would show.
        var random = new Random(seed + 1000);
        for (int l = 0; l < layout.LayerCount; l++)
        {
            var bias = parameters.AsSpan(layout.LayerOffset(l) + layout.WeightCount(l), Sizes[l + 1]);
            for (int i = 0; i < bias.Length; i++) bias[i] = (float)(random.NextDouble() - 0.5);
        }
        return parameters;
    }

    /// <summary>The forward pass of Train.dll's Mlp and the Softmax kernel, called directly.</summary>
    public static float[] DirectProbabilities(int seed, float[] input, int rows)
    {
        using var backend = KernelBackends.Create("cpu");
        using var mlp = new Mlp(backend, Sizes);
        mlp.WriteParameters(Parameters(seed));
        using var activations = mlp.CreateActivations(rows);
        using var x = backend.Allocate<float>(input.Length);
        x.CopyFrom(input);
        var logits = mlp.Forward(activations, x, rows);
        using var probabilities = backend.Allocate<float>(rows * Sizes[^1]);
        backend.Softmax(logits, probabilities, rows, Sizes[^1]);
        return probabilities.ToArray();
    }

    /// <summary>The model repository directory.</summary>
    internal string Directory => _directory;

    /// <summary>Writes a seeded checkpoint as NAME/VERSION/model.ckpt (tests add versions while serving).</summary>
    internal void WriteModel(string name, int version, int seed) => WriteCheckpoint(_directory, name, version, seed);

    /// <summary>Writes the seeded checkpoint as DIRECTORY/NAME/VERSION/model.ckpt (also for a server in another process).</summary>
    internal static void WriteCheckpoint(string directory, string name, int version, int seed)
    {
        var parameters = Parameters(seed);
        var checkpoint = new Checkpoint(Sizes, 1, seed, OptimizerKind.Sgd, 0, parameters, [new float[parameters.Length]]);
        CheckpointFile.Write(Path.Combine(directory, name, version.ToString(), "model.ckpt"), checkpoint);
    }

    public async Task InitializeAsync()
    {
        WriteModel("fashion", 1, seed: 1);
        WriteModel("fashion", 2, seed: 2);
        WriteModel("other", 3, seed: 3);
        System.IO.Directory.CreateDirectory(Path.Combine(_directory, "fashion", "notes")); // not a version: ignored
        _app = ServingApp.Build(["--models", _directory, "--max-body-bytes", MaxBodyBytes.ToString(), "--version-policy", "all", .. _extraArgs],
            builder => builder.WebHost.UseTestServer());
        await _app.StartAsync();
        Client = _app.GetTestClient();
    }

    public async Task DisposeAsync()
    {
        if (_app is not null) { await _app.StopAsync(); await _app.DisposeAsync(); }
        System.IO.Directory.Delete(_directory, recursive: true);
    }
}

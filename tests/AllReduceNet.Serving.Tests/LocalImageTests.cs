using System.Diagnostics;
using System.Text.Json;
using Xunit.Abstractions;

namespace AllReduceNet.Serving.Tests;

/// <summary>deploy/build-local-image.sh end to end: a Debian base made with debootstrap and imported, Serve published
/// self-contained, `podman build` of Dockerfile.serving, and a container that becomes ready, passes its HEALTHCHECK,
/// runs as uid 1654, answers an inference and exits 0 on SIGTERM. Several minutes: the first run's debootstrap is
/// most of it; later runs reuse the base image.</summary>
public sealed class LocalImageTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Deadline = TimeSpan.FromMinutes(20);
    private const int Seed = 5;
    private const string InferencePrefix = "build-local-image: inference: ";

    [PodmanFact]
    public void The_serving_image_builds_offline_and_serves()
    {
        string models = Path.Combine(Path.GetTempPath(), "arn-local-image-models-" + Guid.NewGuid().ToString("N"));
        try
        {
            // A seeded model, so the container's answer can be compared with the forward pass run here.
            var parameters = ServerFixture.Parameters(Seed);
            var checkpoint = new AllReduceNet.Training.Checkpoints.Checkpoint(ServerFixture.Sizes, 1, Seed,
                AllReduceNet.Training.Optim.OptimizerKind.Sgd, 0, parameters, [new float[parameters.Length]]);
            AllReduceNet.Training.Checkpoints.CheckpointFile.Write(Path.Combine(models, "fashion", "1", "model.ckpt"), checkpoint);

            var lines = RunScript(models, out bool exited, out int exitCode);
            string log = string.Join('\n', lines);
            Assert.True(exited, $"deploy/build-local-image.sh did not finish within {Deadline.TotalMinutes} minutes:\n{log}");
            Assert.True(exitCode == 0, $"deploy/build-local-image.sh exited {exitCode}:\n{log}");
            Assert.Contains(lines, l => l.StartsWith("build-local-image: ok: ", StringComparison.Ordinal));
            Assert.Contains(lines, l => l == "build-local-image: HEALTHCHECK: healthy");
            Assert.Contains(lines, l => l == "build-local-image: the server runs as uid 1654");

            // The script sends one row of 784 zeros.
            string answer = Assert.Single(lines, l => l.StartsWith(InferencePrefix, StringComparison.Ordinal))[InferencePrefix.Length..];
            using var json = JsonDocument.Parse(answer);
            var probabilities = json.RootElement.GetProperty("outputs").EnumerateArray()
                .Single(o => o.GetProperty("name").GetString() == "probabilities")
                .GetProperty("data").EnumerateArray().Select(v => v.GetSingle()).ToArray();
            float[] expected = ServerFixture.DirectProbabilities(Seed, new float[784], rows: 1);
            Assert.Equal(expected.Length, probabilities.Length);
            for (int i = 0; i < expected.Length; i++) Assert.Equal(expected[i], probabilities[i], 1e-6f);
        }
        finally
        {
            if (Directory.Exists(models)) Directory.Delete(models, recursive: true);
        }
    }

    private List<string> RunScript(string models, out bool exited, out int exitCode)
    {
        var start = new ProcessStartInfo("bash", [RepositoryRoot.File("deploy", "build-local-image.sh")])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = RepositoryRoot.Path,
        };
        // Not the developer's image name: a run of the tests never replaces an image made by hand.
        start.Environment["ALLREDUCENET_IMAGE"] = "localhost/allreducenet-serving:test";
        start.Environment["ALLREDUCENET_MODELS"] = models;
        var lines = new System.Collections.Concurrent.ConcurrentQueue<string>();
        using var process = Process.Start(start) ?? throw new InvalidOperationException("bash did not start");
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lines.Enqueue(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lines.Enqueue("stderr: " + e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        exited = process.WaitForExit(Deadline);
        if (!exited) process.Kill(entireProcessTree: true);
        process.WaitForExit();
        exitCode = process.ExitCode;
        foreach (string line in lines) output.WriteLine(line);
        return lines.ToList();
    }
}

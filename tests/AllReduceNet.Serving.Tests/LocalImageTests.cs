using System.Diagnostics;
using Xunit.Abstractions;

namespace AllReduceNet.Serving.Tests;

/// <summary>deploy/build-local-image.sh end to end: a Debian base made with debootstrap and imported, Serve published
/// self-contained, `podman build` of Dockerfile.serving, and a container that becomes ready, passes its HEALTHCHECK,
/// runs as uid 1654, answers an inference and exits 0 on SIGTERM. Several minutes: the first run's debootstrap is
/// most of it; later runs reuse the base image.</summary>
public sealed class LocalImageTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Deadline = TimeSpan.FromMinutes(20);

    [PodmanFact]
    public void The_serving_image_builds_offline_and_serves()
    {
        var start = new ProcessStartInfo("bash", [RepositoryRoot.File("deploy", "build-local-image.sh")])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = RepositoryRoot.Path,
        };
        // Not the test host's image names: a run of the tests never replaces the images a developer made.
        start.Environment["ALLREDUCENET_IMAGE"] = "localhost/allreducenet-serving:test";
        using var process = Process.Start(start) ?? throw new InvalidOperationException("bash did not start");
        var lines = new System.Collections.Concurrent.ConcurrentQueue<string>();
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lines.Enqueue(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lines.Enqueue("stderr: " + e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        bool exited = process.WaitForExit(Deadline);
        if (!exited) process.Kill(entireProcessTree: true);
        process.WaitForExit();
        foreach (string line in lines) output.WriteLine(line);
        Assert.True(exited, $"deploy/build-local-image.sh did not finish within {Deadline.TotalMinutes} minutes:\n{string.Join('\n', lines)}");
        Assert.True(process.ExitCode == 0, $"deploy/build-local-image.sh exited {process.ExitCode}:\n{string.Join('\n', lines)}");
        Assert.Contains(lines, l => l.StartsWith("build-local-image: ok: ", StringComparison.Ordinal));
        Assert.Contains(lines, l => l == "build-local-image: HEALTHCHECK: healthy");
        Assert.Contains(lines, l => l == "build-local-image: the server runs as uid 1654");
    }
}

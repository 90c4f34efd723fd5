namespace AllReduceNet.Serving.Tests;

/// <summary>A test that builds and runs the serving image with podman: skipped, saying what is missing, unless the
/// machine has root, podman and debootstrap, or when <c>ALLREDUCENET_CONTAINER_TESTS=0</c> turns it off.</summary>
public sealed class PodmanFactAttribute : FactAttribute
{
    public const string Switch = "ALLREDUCENET_CONTAINER_TESTS";

    public PodmanFactAttribute()
    {
        if (Environment.GetEnvironmentVariable(Switch) == "0") Skip = $"{Switch}=0 turns the container tests off.";
        else if (Environment.UserName != "root") Skip = "needs root: debootstrap and podman's root storage (docs/containers.md).";
        else if (!OnPath("podman") || !OnPath("debootstrap"))
            Skip = "needs podman and debootstrap: sudo apt-get install podman runc debootstrap (docs/containers.md).";
    }

    private static bool OnPath(string tool) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Any(directory => File.Exists(Path.Combine(directory, tool)));
}

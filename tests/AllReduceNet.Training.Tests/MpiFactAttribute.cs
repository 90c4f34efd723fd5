namespace AllReduceNet.Training.Tests;

/// <summary>A theory that needs MPICH's mpiexec (Debian: mpich); reported as skipped, with the reason, where it is missing.</summary>
public sealed class MpiTheoryAttribute : TheoryAttribute
{
    public const string Launcher = "mpiexec.mpich";

    public MpiTheoryAttribute()
    {
        if (FindLauncher() is null) Skip = $"{Launcher} is not on PATH (sudo apt-get install mpich).";
    }

    public static string? FindLauncher() =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, Launcher)).FirstOrDefault(File.Exists);
}

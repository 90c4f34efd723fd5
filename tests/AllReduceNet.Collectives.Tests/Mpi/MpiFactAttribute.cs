namespace AllReduceNet.Collectives.Tests.Mpi;

/// <summary>
/// A fact that needs MPI launchers: where one of them is not on PATH the test is reported as skipped, with the
/// reason and the package to install, rather than passing without having run.
/// </summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class MpiFactAttribute : FactAttribute
{
    public MpiFactAttribute(params string[] launchers) => Skip = SkipReason(launchers);

    /// <summary>Null when every launcher is on PATH; else why the test cannot run and what to install.</summary>
    internal static string? SkipReason(string[] launchers) =>
        launchers.FirstOrDefault(l => MpiJob.Find(l) is null) is { } missing
            ? $"{missing} is not installed here, so this MPI test cannot run " +
              $"(Debian/Ubuntu: sudo apt-get install {(missing == MpiJob.OpenMpi ? "openmpi-bin libopenmpi-dev" : "mpich libmpich-dev")})."
            : null;
}

/// <summary>The theory form of <see cref="MpiFactAttribute"/>.</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class MpiTheoryAttribute : TheoryAttribute
{
    public MpiTheoryAttribute(params string[] launchers) => Skip = MpiFactAttribute.SkipReason(launchers);
}

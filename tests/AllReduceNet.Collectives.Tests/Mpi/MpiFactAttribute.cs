namespace AllReduceNet.Collectives.Tests.Mpi;

/// <summary>
/// A fact that needs MPI launchers: where one of them is not on PATH the test is reported as skipped, with the
/// reason and the package to install, rather than passing without having run.
/// </summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class MpiFactAttribute : FactAttribute
{
    public MpiFactAttribute(params string[] launchers)
    {
        var missing = launchers.FirstOrDefault(l => MpiJob.Find(l) is null);
        if (missing is not null)
            Skip = $"{missing} is not installed here, so this MPI test cannot run " +
                   $"(Debian/Ubuntu: sudo apt-get install {(missing == MpiJob.OpenMpi ? "openmpi-bin libopenmpi-dev" : "mpich libmpich-dev")}).";
    }
}

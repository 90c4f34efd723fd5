namespace AllReduceNet.Collectives.Tests.Mpi;

/// <summary>
/// A fact that needs an MPI launcher: where <c>launcher</c> is not on PATH the test is reported as skipped, with the
/// reason and the package to install, rather than passing without having run.
/// </summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class MpiFactAttribute : FactAttribute
{
    public MpiFactAttribute(string launcher)
    {
        if (MpiJob.Find(launcher) is null)
            Skip = $"{launcher} is not installed here, so this MPI test cannot run " +
                   $"(Debian/Ubuntu: sudo apt-get install {(launcher == MpiJob.OpenMpi ? "openmpi-bin libopenmpi-dev" : "mpich libmpich-dev")}).";
    }
}

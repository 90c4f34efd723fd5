using System.Runtime.InteropServices;

namespace AllReduceNet.Collectives.Transports.Mpi;

/// <summary>
/// Finds and loads the MPI library at run time: the file named by ALLREDUCENET_MPI_LIBRARY, or else the usual sonames
/// in the order the launcher's environment suggests (Open MPI's mpiexec sets OMPI_COMM_WORLD_SIZE; MPICH's hydra sets
/// PMI_RANK and PMI_SIZE). The ABI is then told by the library itself: Open MPI exports <c>ompi_mpi_comm_world</c>.
/// </summary>
internal static class MpiLibraryLoader
{
    /// <summary>The environment variable that names the MPI library file to load.</summary>
    public const string LibraryVariable = "ALLREDUCENET_MPI_LIBRARY";

    /// <summary>Appended to every "no MPI" error.</summary>
    public const string InstallHint =
        "Install an MPI library (Debian/Ubuntu: 'sudo apt-get install mpich', or 'sudo apt-get install openmpi-bin'; " +
        "RHEL/Fedora: 'sudo dnf install mpich'), or set " + LibraryVariable + " to the full path of libmpi.so / libmpich.so.";

    private static readonly string[] MpichNames = ["libmpich.so.12", "libmpi.so.12", "libmpich.so"];
    private static readonly string[] OpenMpiNames = ["libmpi.so.40", "libmpi.so"];

    /// <summary>True when Open MPI's launcher started this process.</summary>
    public static bool LaunchedByOpenMpi => Has("OMPI_COMM_WORLD_SIZE");

    /// <summary>True when a PMI launcher started this process: MPICH's hydra (also Intel MPI's), or Slurm's srun with PMI or PMIx.</summary>
    public static bool LaunchedByPmiLauncher => Has("PMI_RANK") || Has("PMI_SIZE") || Has("MPI_LOCALNRANKS") || Has("PMIX_RANK");

    /// <summary>The world size the launcher announced, or null when it did not.</summary>
    public static int? LauncherWorldSize =>
        int.TryParse(Environment.GetEnvironmentVariable("OMPI_COMM_WORLD_SIZE") ?? Environment.GetEnvironmentVariable("PMI_SIZE"), out var n) ? n : null;

    /// <summary>Loads <paramref name="explicitPath"/>, or (when null) ALLREDUCENET_MPI_LIBRARY, or the first library found.</summary>
    /// <exception cref="MpiUnavailableException">Nothing could be loaded; the message lists every name tried and why.</exception>
    public static MpiLibrary Load(string? explicitPath = null)
    {
        explicitPath ??= Environment.GetEnvironmentVariable(LibraryVariable);
        string[] candidates = !string.IsNullOrWhiteSpace(explicitPath) ? [explicitPath]
            : LaunchedByOpenMpi ? [.. OpenMpiNames, .. MpichNames]
            : [.. MpichNames, .. OpenMpiNames];

        var failures = new List<string>();
        foreach (var name in candidates)
        {
            if (!NativeLibrary.TryLoad(name, out var handle))
            {
                failures.Add($"{name}: {(name.Contains('/') && !File.Exists(name) ? "no such file" : "not found or not loadable")}");
                continue;
            }
            MpiAbi abi;
            if (NativeLibrary.TryGetExport(handle, "ompi_mpi_comm_world", out _)) abi = MpiAbi.OpenMpi;
            else if (NativeLibrary.TryGetExport(handle, "MPI_Init_thread", out _)) abi = MpiAbi.Mpich;
            else
            {
                failures.Add($"{name}: loaded, but it exports no MPI_Init_thread (not an MPI library)");
                NativeLibrary.Free(handle);
                continue;
            }
            return new MpiLibrary(name, handle, abi);
        }

        var source = !string.IsNullOrWhiteSpace(explicitPath) ? $" (named by {LibraryVariable})" : "";
        throw new MpiUnavailableException(
            $"No MPI library could be loaded{source}. Tried: {string.Join("; ", failures)}. {InstallHint}");
    }

    private static bool Has(string variable) => !string.IsNullOrEmpty(Environment.GetEnvironmentVariable(variable));
}

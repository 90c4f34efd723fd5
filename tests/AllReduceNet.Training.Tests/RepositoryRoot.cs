namespace AllReduceNet.Training.Tests;

/// <summary>The checkout the tests run from: the first directory above the test binaries that holds AllReduceNet.sln.</summary>
internal static class RepositoryRoot
{
    public static string Path { get; } = Find();

    public static string File(params string[] parts) => System.IO.Path.Combine([Path, .. parts]);

    private static string Find()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
            if (System.IO.File.Exists(System.IO.Path.Combine(directory.FullName, "AllReduceNet.sln"))) return directory.FullName;
        throw new InvalidOperationException($"no AllReduceNet.sln above {AppContext.BaseDirectory}: the tests must run from a checkout.");
    }
}

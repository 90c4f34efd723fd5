using AllReduceNet.Training.Cli;

namespace AllReduceNet.Training.Tests;

/// <summary>The check every refused-arguments test makes: exit code 2, an "error: " line naming the problem, and no
/// training started (no checkpoint written).</summary>
internal static class RefusedArguments
{
    public static void AssertRefused(string args, string expected)
    {
        using var dir = new TempDirectory();
        var error = new StringWriter();
        string checkpoint = dir.File("never.ckpt");
        int code = TrainCommand.Run([.. args.Split(' '), "--checkpoint", checkpoint, "--quiet"], TextWriter.Null, error);
        Assert.Equal(2, code);
        Assert.Contains(expected, error.ToString());
        Assert.StartsWith("error: ", error.ToString());
        Assert.False(File.Exists(checkpoint), "training started although the arguments were bad");
    }
}

using AllReduceNet.Training.Cli;

namespace AllReduceNet.Training;

/// <summary>Entry point of Train.dll.</summary>
internal static class Program
{
    private static int Main(string[] args)
    {
        BatchOutput.Prepare(); // before the console is first used
        return TrainCommand.Run(args, Console.Out, Console.Error);
    }
}

namespace AllReduceNet.Training.Tests;

/// <summary>A fact that needs <c>program</c> on PATH; reported as skipped, naming the Debian package, where it is missing.</summary>
public sealed class NeedsProgramFactAttribute : FactAttribute
{
    public NeedsProgramFactAttribute(string program, string package)
    {
        if (TrainProcess.Find(program) is null) Skip = $"{program} is not on PATH (apt-get install {package}).";
    }
}

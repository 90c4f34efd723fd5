namespace AllReduceNet.Lifecycle;

/// <summary>
/// Entry point of Lifecycle.dll: <c>dotnet Lifecycle.dll trainer [options]</c> (the retraining service) or
/// <c>dotnet Lifecycle.dll monitor [options]</c> (polls Serve.dll's drift and asks the trainer to retrain).
/// Options are <c>--name value</c>; docs/lifecycle.md lists them.
/// </summary>
public static class Program
{
    /// <summary>Starts the named service and blocks until it stops.</summary>
    /// <param name="args">The command, then its options.</param>
    /// <returns>0 after a clean stop, 1 for an unknown command, 2 when an option is unusable.</returns>
    public static int Main(string[] args)
    {
        string command = args.Length > 0 ? args[0] : "";
        string[] options = args.Length > 0 ? args[1..] : [];
        try
        {
            WebApplication app = command switch
            {
                "trainer" => Trainer.TrainerApp.Build(options),
                "monitor" => Monitor.MonitorApp.Build(options),
                _ => throw new ArgumentException(command),
            };
            app.Run();
            return 0;
        }
        catch (ArgumentException) when (command is not ("trainer" or "monitor"))
        {
            Console.Error.WriteLine($"Lifecycle: unknown command '{command}'; use 'dotnet Lifecycle.dll trainer [options]' or 'dotnet Lifecycle.dll monitor [options]' (docs/lifecycle.md).");
            return 1;
        }
        catch (LifecycleConfigurationException e)
        {
            Console.Error.WriteLine($"Lifecycle {command}: {e.Message}");
            return 2;
        }
    }
}

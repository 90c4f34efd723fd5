namespace AllReduceNet.Lifecycle;

/// <summary>A command-line option of the trainer or the monitor is missing or unusable; the message names it.</summary>
public sealed class LifecycleConfigurationException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">What is wrong, naming the option and what would be accepted.</param>
    public LifecycleConfigurationException(string message) : base(message) { }
}

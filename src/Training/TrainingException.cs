namespace AllReduceNet.Training;

/// <summary>
/// A problem the user can fix (bad option, missing or damaged data, unusable checkpoint). The program prints its
/// message without a stack trace and exits with code 2.
/// </summary>
public class TrainingException : Exception
{
    /// <summary>Creates the exception with a message that says what was wrong and how to fix it.</summary>
    /// <param name="message">The message shown to the user.</param>
    public TrainingException(string message) : base(message) { }

    /// <summary>Creates the exception with a message and the error that caused it.</summary>
    /// <param name="message">The message shown to the user.</param>
    /// <param name="inner">The underlying error.</param>
    public TrainingException(string message, Exception inner) : base(message, inner) { }
}

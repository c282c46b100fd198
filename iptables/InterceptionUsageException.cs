namespace Herald.Iptables;

/// <summary>A bad command line: names the flag, so the operator knows what to fix.</summary>
public sealed class InterceptionUsageException : Exception
{
    public InterceptionUsageException(string flag, string problem)
        : base($"{flag}: {problem}")
    {
        Flag = flag;
    }

    public InterceptionUsageException(string message)
        : base(message)
    {
        Flag = string.Empty;
    }

    public InterceptionUsageException()
    {
        Flag = string.Empty;
    }

    public InterceptionUsageException(string message, Exception innerException)
        : base(message, innerException)
    {
        Flag = string.Empty;
    }

    public string Flag { get; }
}

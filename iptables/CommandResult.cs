namespace Herald.Iptables;

/// <summary>The outcome of one external command (iptables-save, nft, ip...). Exit code 127: not found.</summary>
public sealed record CommandResult(int ExitCode, string Stdout, string Stderr)
{
    public const int NotFound = 127;

    public bool Ok => ExitCode == 0;
}

using System.Runtime.ExceptionServices;
using System.Runtime.InteropServices;

namespace IpsecExporter.Tests.Support;

/// <summary>
/// Runs code as a process without CAP_NET_RAW would, without a second process: Linux capabilities belong to each
/// thread, so a fresh thread drops CAP_NET_RAW from itself (threads it starts inherit that) and exits afterwards.
/// </summary>
public static partial class ThreadCapabilities
{
    private const uint Version3 = 0x20080522;
    private const int NetRaw = 13;

    public static T WithoutNetRaw<T>(Func<T> action)
    {
        T? result = default;
        ExceptionDispatchInfo? failure = null;
        var thread = new Thread(() =>
        {
            try
            {
                DropNetRaw();
                result = action();
            }
            catch (Exception e)
            {
                failure = ExceptionDispatchInfo.Capture(e);
            }
        });
        thread.Start();
        thread.Join();
        failure?.Throw();
        return result!;
    }

    private static unsafe void DropNetRaw()
    {
        var header = new CapHeader { Version = Version3, Pid = 0 };
        var data = stackalloc CapData[2];
        if (CapGet(&header, data) != 0)
        {
            throw new InvalidOperationException($"capget failed: {Marshal.GetLastPInvokeError()}");
        }

        data[0].Effective &= ~(1u << NetRaw);
        data[0].Permitted &= ~(1u << NetRaw);
        data[0].Inheritable &= ~(1u << NetRaw);
        if (CapSet(&header, data) != 0)
        {
            throw new InvalidOperationException($"capset failed: {Marshal.GetLastPInvokeError()}");
        }
    }

    [LibraryImport("libc", EntryPoint = "capget", SetLastError = true)]
    private static unsafe partial int CapGet(CapHeader* header, CapData* data);

    [LibraryImport("libc", EntryPoint = "capset", SetLastError = true)]
    private static unsafe partial int CapSet(CapHeader* header, CapData* data);

    [StructLayout(LayoutKind.Sequential)]
    private struct CapHeader
    {
        public uint Version;
        public int Pid;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct CapData
    {
        public uint Effective;
        public uint Permitted;
        public uint Inheritable;
    }
}

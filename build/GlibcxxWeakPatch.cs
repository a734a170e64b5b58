// Marks one ELF version-need entry (e.g. GLIBCXX_3.4.32) WEAK so the dynamic loader tolerates its absence.
// Used by build/TorchSharpGlibcxxFix.targets as a RoslynCodeTaskFactory task and compiled into the tests.
// Why: TorchSharp 0.107's libLibTorchSharp.so needs GLIBCXX_3.4.32, which Debian 12 lacks; the only symbol
// tied to it (_ZSt21ios_base_library_initv) is never bound by a relocation, so a weak need is safe.
#nullable enable
using System;
using System.IO;
using System.Text;

namespace BeliefLens.Build
{
    public enum ElfPatchResult
    {
        Patched,
        AlreadyWeak,
        VersionNotNeeded,
        NotElf64LittleEndian,
    }

    public static class ElfVersionNeedPatcher
    {
        private const uint ShtGnuVerneed = 0x6ffffffe;
        private const ushort VerFlagWeak = 2;

        /// <summary>
        /// Sets VER_FLG_WEAK on the vernaux entry named <paramref name="version"/>. Writes a new file and renames it
        /// over <paramref name="path"/>, so a hard link into a package cache is never modified. Idempotent.
        /// </summary>
        public static ElfPatchResult MarkVersionNeedWeak(string path, string version)
        {
            byte[] elf = File.ReadAllBytes(path);
            ElfPatchResult result = MarkVersionNeedWeak(elf, version);
            if (result == ElfPatchResult.Patched)
            {
                string temp = path + ".weakpatch.tmp";
                File.WriteAllBytes(temp, elf);
                File.Replace(temp, path, null); // rename over the target (netstandard2.0 has no Move overwrite)
            }

            return result;
        }

        /// <summary>In-memory variant of <see cref="MarkVersionNeedWeak(string, string)"/>.</summary>
        public static ElfPatchResult MarkVersionNeedWeak(byte[] elf, string version)
        {
            int offset = FindVernaux(elf, version);
            if (offset == -2)
            {
                return ElfPatchResult.NotElf64LittleEndian;
            }

            if (offset < 0)
            {
                return ElfPatchResult.VersionNotNeeded;
            }

            ushort flags = BitConverter.ToUInt16(elf, offset + 4);
            if ((flags & VerFlagWeak) != 0)
            {
                return ElfPatchResult.AlreadyWeak;
            }

            ushort weak = (ushort)(flags | VerFlagWeak);
            elf[offset + 4] = (byte)(weak & 0xff);
            elf[offset + 5] = (byte)(weak >> 8);
            return ElfPatchResult.Patched;
        }

        /// <summary>The vna_flags of the named need, or null when the file does not need that version.</summary>
        public static ushort? VersionNeedFlags(byte[] elf, string version)
        {
            int offset = FindVernaux(elf, version);
            return offset < 0 ? null : BitConverter.ToUInt16(elf, offset + 4);
        }

        /// <summary>True when the shared library's bytes define the version string (a conservative byte search).</summary>
        public static bool LibraryMentions(string path, string version)
        {
            byte[] bytes = File.ReadAllBytes(path);
            byte[] wanted = Encoding.ASCII.GetBytes(version + "\0");
            for (int k = 0; k + wanted.Length <= bytes.Length; k++)
            {
                if (Matches(bytes, k, wanted))
                {
                    return true;
                }
            }

            return false;
        }

        private static bool Matches(byte[] bytes, int at, byte[] wanted)
        {
            if (at < 0 || at + wanted.Length > bytes.Length)
            {
                return false;
            }

            for (int k = 0; k < wanted.Length; k++)
            {
                if (bytes[at + k] != wanted[k])
                {
                    return false;
                }
            }

            return true;
        }

        /// <summary>File offset of the Elf64_Vernaux record for <paramref name="version"/>; -1 if absent, -2 if not ELF64 LE.</summary>
        private static int FindVernaux(byte[] elf, string version)
        {
            if (elf.Length < 64 || elf[0] != 0x7f || elf[1] != (byte)'E' || elf[2] != (byte)'L' || elf[3] != (byte)'F'
                || elf[4] != 2 /* ELFCLASS64 */ || elf[5] != 1 /* little endian */)
            {
                return -2;
            }

            long shoff = BitConverter.ToInt64(elf, 0x28);
            int shentsize = BitConverter.ToUInt16(elf, 0x3A);
            int shnum = BitConverter.ToUInt16(elf, 0x3C);
            byte[] wanted = Encoding.ASCII.GetBytes(version + "\0");
            for (int s = 0; s < shnum; s++)
            {
                int sh = checked((int)(shoff + ((long)s * shentsize)));
                if (BitConverter.ToUInt32(elf, sh + 4) != ShtGnuVerneed)
                {
                    continue;
                }

                int verneedOffset = checked((int)BitConverter.ToInt64(elf, sh + 0x18));
                int strtabIndex = (int)BitConverter.ToUInt32(elf, sh + 0x28);
                int count = (int)BitConverter.ToUInt32(elf, sh + 0x2C);
                int strtabHeader = checked((int)(shoff + ((long)strtabIndex * shentsize)));
                int strtabOffset = checked((int)BitConverter.ToInt64(elf, strtabHeader + 0x18));

                int need = verneedOffset;
                for (int n = 0; n < count; n++)
                {
                    // Elf64_Verneed: vn_version u16, vn_cnt u16, vn_file u32, vn_aux u32, vn_next u32.
                    int auxCount = BitConverter.ToUInt16(elf, need + 2);
                    int aux = need + (int)BitConverter.ToUInt32(elf, need + 8);
                    for (int a = 0; a < auxCount; a++)
                    {
                        // Elf64_Vernaux: vna_hash u32, vna_flags u16, vna_other u16, vna_name u32, vna_next u32.
                        int name = strtabOffset + (int)BitConverter.ToUInt32(elf, aux + 8);
                        if (Matches(elf, name, wanted))
                        {
                            return aux;
                        }

                        aux += (int)BitConverter.ToUInt32(elf, aux + 12);
                    }

                    uint next = BitConverter.ToUInt32(elf, need + 12);
                    if (next == 0)
                    {
                        break;
                    }

                    need += (int)next;
                }
            }

            return -1;
        }
    }

#if !BELIEFLENS_NO_MSBUILD_TASK
    /// <summary>MSBuild task: patches each given library when no system libstdc++ provides the version.</summary>
    public sealed class MarkGlibcxxNeedWeak : Microsoft.Build.Utilities.Task
    {
        private static readonly string[] LibStdCxxCandidates =
        [
            "/usr/lib/x86_64-linux-gnu/libstdc++.so.6", "/lib/x86_64-linux-gnu/libstdc++.so.6",
            "/usr/lib/aarch64-linux-gnu/libstdc++.so.6", "/lib/aarch64-linux-gnu/libstdc++.so.6",
            "/usr/lib64/libstdc++.so.6", "/lib64/libstdc++.so.6", "/usr/lib/libstdc++.so.6",
        ];

        [Microsoft.Build.Framework.Required]
        public Microsoft.Build.Framework.ITaskItem[] Libraries { get; set; } = [];

        public string Version { get; set; } = "GLIBCXX_3.4.32";

        public override bool Execute()
        {
            if (Libraries.Length == 0)
            {
                return true;
            }

            string? system = Array.Find(LibStdCxxCandidates, File.Exists);
            if (system is null)
            {
                Log.LogMessage(Microsoft.Build.Framework.MessageImportance.Low, "No system libstdc++ found; TorchSharp native library left as is.");
                return true;
            }

            if (ElfVersionNeedPatcher.LibraryMentions(system, Version))
            {
                return true; // The system provides the version: nothing to fix.
            }

            foreach (var item in Libraries)
            {
                string path = item.ItemSpec;
                ElfPatchResult result = ElfVersionNeedPatcher.MarkVersionNeedWeak(path, Version);
                Log.LogMessage(Microsoft.Build.Framework.MessageImportance.Normal, $"{path}: {Version} need {result} ({system} lacks it).");
            }

            return true;
        }
    }
#endif
}

